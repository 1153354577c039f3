/**
 * Stage identity: a content address computed from canonical JSON.
 *
 * Canonical JSON here means: object keys sorted (by UTF-16 code unit, `Array.prototype.sort`),
 * no whitespace, numbers in JavaScript's shortest round-trip form (so `1e-3`, `0.001` and `0.0010`
 * in a YAML file, which all parse to the same double, serialise identically; `1` and `1.0` too),
 * `-0` written as `0`, object members whose value is `undefined` left out. Non-finite numbers,
 * functions, symbols, bigints and `undefined` array items are rejected.
 */
import { createHash } from 'node:crypto';
import type { Json, StageKind } from './types.js';
import type { StageConfig } from './stage-config.js';

/** A value could not be written as canonical JSON (non-finite number, function, ...). */
export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

function write(v: unknown, path: string, out: string[]): void {
  if (v === null) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`${path || '<root>'}: ${v} is not a finite number`);
      out.push(Object.is(v, -0) ? '0' : JSON.stringify(v));
      return;
    case 'object': {
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          if (v[i] === undefined) throw new CanonicalJsonError(`${path}[${i}]: undefined is not JSON`);
          write(v[i], `${path}[${i}]`, out);
        }
        out.push(']');
        return;
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      out.push('{');
      keys.forEach((k, i) => {
        if (i > 0) out.push(',');
        out.push(JSON.stringify(k), ':');
        write(obj[k], path ? `${path}.${k}` : k, out);
      });
      out.push('}');
      return;
    }
    default:
      throw new CanonicalJsonError(`${path || '<root>'}: a ${typeof v} is not JSON`);
  }
}

/**
 * Canonical JSON text of a value (sorted keys, normalised numbers; see the module comment).
 * Two values that are equal as JSON data give the same text.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '', out);
  return out.join('');
}

/** Lower-case hex sha256 of a UTF-8 string. */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Hex sha256 of the canonical JSON of a value. */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * Identity of a stage: sha256 hex (64 characters) of the canonical JSON of
 * `{kind, config, parents, codeVersion}`. Parents keep their order (it is meaningful).
 */
export function stageId(kind: StageKind, config: StageConfig | Json, parents: readonly string[], codeVersion: string): string {
  return hashJson({ kind, config, parents, codeVersion });
}

/**
 * Identity of a sweep: sha256 hex of the canonical JSON of `{name, stages}` with the stage ids
 * sorted, so the same set of stages under the same name always gives the same id.
 */
export function sweepIdOf(name: string, stageIds: readonly string[]): string {
  return hashJson({ name, stages: [...stageIds].sort() });
}
