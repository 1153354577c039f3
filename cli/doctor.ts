/**
 * `dalesweep doctor`: what this machine can compute with — each backend choice (js, tfjs on wasm
 * and cpu, native TensorFlow through tfjs-node / tfjs-node-gpu) with its status, device, threads
 * and library version, plus Node, the cores and the installed tfjs packages. Exit 0 whatever it
 * finds (it reports; `dalesweep worker --task-queue gpu` is the check that refuses).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';

const require_ = createRequire(import.meta.url);

/** Version of an installed npm package, or null when it is not installed. */
function packageVersion(pkg: string): string | null {
  try {
    return (require_(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** The packages doctor reports the versions of. */
export const DOCTOR_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

/** Registers the `doctor` sub-command. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('Print the compute engines, devices, thread counts and library versions found here')
    .option('--json', 'one JSON object instead of text')
    .action(async (o: { json?: boolean }) => {
      const { probeAllEngines } = await import('../rnn/engine-info.js');
      const engines = await probeAllEngines();
      const packages = Object.fromEntries(DOCTOR_PACKAGES.map((p) => [p, packageVersion(p)]));
      const system = { node: process.version, platform: `${process.platform}-${process.arch}`, cores: availableParallelism() };
      if (o.json) {
        process.stdout.write(JSON.stringify({ system, packages, engines }) + '\n');
        return;
      }
      const lines = [`node ${system.node} on ${system.platform}, ${system.cores} cores`, 'packages:'];
      for (const [p, v] of Object.entries(packages)) lines.push(`  ${p} ${v ?? '(not installed)'}`);
      lines.push('engines (backend: status, engine, device, threads, library):');
      for (const e of engines) {
        if (e.status === 'ok') lines.push(`  ${e.backend}: ok, ${e.engine}, ${e.device}, threads ${e.threads}, ${e.engineVersion}`);
        else lines.push(`  ${e.backend}: ${e.status}: ${e.detail}`);
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
