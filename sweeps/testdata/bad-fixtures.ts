/**
 * The malformed sweep files under `sweeps/testdata/bad/`, each with the field path its
 * SpecError must name (first line `# expect: <path>`; `(document)` for the whole document).
 * Shared by the spec tests and the CLI tests (which check exit status 2).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of `sweeps/testdata/bad/` in the source tree (also when run from dist/). */
export const BAD_SPEC_DIR = fileURLToPath(new URL('../../../sweeps/testdata/bad/', import.meta.url));

export interface BadSpecFixture {
  /** Absolute path of the YAML file. */
  file: string;
  /** Field path the error must name (`''` for the whole document). */
  expectPath: string;
}

/** Every fixture, sorted by file name. */
export function badSpecFixtures(): BadSpecFixture[] {
  return readdirSync(BAD_SPEC_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const file = join(BAD_SPEC_DIR, f);
      const m = /^# expect: (.*)$/m.exec(readFileSync(file, 'utf8'));
      if (!m) throw new Error(`${file}: first line must be "# expect: <field path>"`);
      const p = m[1].trim();
      return { file, expectPath: p === '(document)' ? '' : p };
    });
}
