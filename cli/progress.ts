/**
 * Progress display for sweeps: a bar of stages done/total with ETA and one line per running
 * stage (current epoch) on a terminal; plain log lines otherwise; JSON lines or nothing for
 * scripts (`--json`, `--quiet`). Both engines feed it the same events.
 */
import cliProgress from 'cli-progress';
import type { EngineEvent } from '../engines/events.js';
import type { Stage } from '../sweeps/types.js';

export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet';

/** Picks the mode from the flags and whether stderr is a terminal. */
export function progressMode(flags: { quiet?: boolean; json?: boolean }): ProgressMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  return process.stderr.isTTY ? 'bars' : 'lines';
}

/** A sink for engine events. */
export interface ProgressReporter {
  onEvent(e: EngineEvent): void;
  /** Ends the display; calling it again does nothing. */
  stop(): void;
}

function label(e: { stage: { id: string; kind: string; config: unknown } }): string {
  const c = e.stage.config as Record<string, unknown>;
  const ct = c.celltype as { condition?: unknown } | undefined;
  const bits = [
    e.stage.kind,
    c.task,
    ct?.condition,
    c.rule,
    c.method,
    c.sparsity !== undefined && c.sparsity !== null ? `s=${String(c.sparsity)}` : undefined,
    c.seed !== undefined ? `seed=${String(c.seed)}` : undefined,
  ];
  return bits.filter((b) => b !== undefined).join(' ');
}

/**
 * Creates the reporter for a mode. JSON lines go to stdout; everything else to stderr.
 * @param stages the plan's stages (their `cost` weights the ETA of the progress bar)
 */
export function createProgress(mode: ProgressMode, stages?: readonly Stage[]): ProgressReporter {
  if (mode === 'quiet') return { onEvent: () => undefined, stop: () => undefined };
  if (mode === 'json') {
    return {
      onEvent(e) {
        const base = { event: e.type, time: new Date().toISOString() };
        let rec: Record<string, unknown>;
        switch (e.type) {
          case 'start':
            rec = { ...base, total: e.total, alreadyComplete: e.alreadyComplete };
            break;
          case 'stage-start':
            rec = { ...base, stageId: e.stage.id, kind: e.stage.kind };
            break;
          case 'stage-progress':
            rec = { ...base, stageId: e.stage.id, epoch: e.epoch, epochs: e.epochs, loss: e.loss ?? null };
            break;
          case 'stage-end':
            rec = { ...base, stageId: e.stage.id, kind: e.stage.kind, status: e.outcome.status, cached: e.outcome.cached, reason: e.outcome.reason ?? null, metrics: e.outcome.metrics, wallMs: Math.round(e.outcome.wallMs) };
            break;
          case 'stage-skipped':
            rec = { ...base, stageId: e.stage.id, kind: e.stage.kind, reason: e.reason };
            break;
          case 'stage-warning':
            rec = { ...base, stageId: e.stage.id, kind: e.stage.kind, message: e.message };
            break;
          case 'stage-waiting':
            rec = { ...base, stageId: e.stage.id, kind: e.stage.kind, holder: e.holder };
            break;
        }
        process.stdout.write(JSON.stringify(rec) + '\n');
      },
      stop: () => undefined,
    };
  }
  if (mode === 'lines') {
    let done = 0;
    let total = 0;
    return {
      onEvent(e) {
        if (e.type === 'start') {
          total = e.total;
          done = e.alreadyComplete;
          process.stderr.write(`sweep: ${total} stages, ${done} already complete\n`);
        } else if (e.type === 'stage-end') {
          done++;
          const st = e.outcome.status === 'failed' ? `FAILED (${e.outcome.reason ?? ''})` : e.outcome.cached ? 'cached' : `${(e.outcome.wallMs / 1000).toFixed(1)} s`;
          process.stderr.write(`[${done}/${total}] ${label(e)}: ${st}\n`);
        } else if (e.type === 'stage-skipped') {
          done++;
          process.stderr.write(`[${done}/${total}] ${label(e)}: skipped (${e.reason})\n`);
        } else if (e.type === 'stage-warning') {
          process.stderr.write(`warning: ${label(e)}: ${e.message}\n`);
        } else if (e.type === 'stage-waiting') {
          process.stderr.write(`${label(e)}: held by ${e.holder}; waiting for it\n`);
        }
      },
      stop: () => undefined,
    };
  }
  let stopped = false;
  const multi = new cliProgress.MultiBar(
    { clearOnComplete: false, hideCursor: true, format: ' {bar} {value}/{total} {name} | {extra}', etaBuffer: 20, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let main: cliProgress.SingleBar | null = null;
  const bars = new Map<string, cliProgress.SingleBar>();
  let failed = 0;
  // ETA weighted by the stages' estimated work (a training stage costs far more than an
  // evaluation): elapsed × remaining cost / cost done in this run.
  const t0 = performance.now();
  let costLeft = 0;
  let costDone = 0;
  let counted = 0;
  const eta = (): string => {
    if (costDone <= 0) return '?';
    return formatSeconds(((performance.now() - t0) / 1000) * (costLeft / costDone));
  };
  return {
    onEvent(e) {
      if (e.type === 'start') {
        costLeft = (stages ?? []).reduce((n, s) => n + s.cost, 0) - (e.alreadyCompleteCost ?? 0);
        counted = e.alreadyComplete;
        main = multi.create(e.total, e.alreadyComplete, { name: 'stages', extra: 'ETA {eta_formatted}' });
        main.update(e.alreadyComplete, { extra: '' });
      } else if (e.type === 'stage-warning') {
        multi.log(`warning: ${label(e)}: ${e.message}\n`);
      } else if (e.type === 'stage-waiting') {
        multi.log(`${label(e)}: held by ${e.holder}; waiting for it\n`);
      } else if (e.type === 'stage-start') {
        bars.set(e.stage.id, multi.create(1, 0, { name: label(e), extra: 'starting' }));
      } else if (e.type === 'stage-progress') {
        const b = bars.get(e.stage.id);
        if (b) {
          b.setTotal(e.epochs);
          b.update(e.epoch, { extra: e.loss !== undefined ? `loss ${e.loss.toPrecision(4)}` : '' });
        }
      } else if (e.type === 'stage-end' || e.type === 'stage-skipped') {
        const b = bars.get(e.stage.id);
        if (b) {
          multi.remove(b);
          bars.delete(e.stage.id);
        }
        if (e.type === 'stage-skipped' || e.outcome.status === 'failed') failed++;
        costLeft -= e.stage.cost;
        if (e.type === 'stage-end' && !e.outcome.cached) costDone += e.stage.cost;
        if (main) {
          counted++;
          const finished = counted >= main.getTotal();
          main.increment(1, { extra: `${failed ? `${failed} failed, ` : ''}${finished ? 'done' : `ETA ${stages ? eta() : formatEta(main)}`}` });
        }
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
  };
}

function formatSeconds(sec: number): string {
  const s = Math.round(sec);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

function formatEta(bar: cliProgress.SingleBar): string {
  const eta = (bar as unknown as { eta?: { getTime(): number } }).eta?.getTime?.();
  if (eta === undefined || !Number.isFinite(eta)) return '?';
  const s = Math.round(eta);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}
