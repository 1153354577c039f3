/**
 * The HTTP handler of `dalesweep serve`: a read-only dashboard over an artifact store.
 *
 *   GET /                              the sweeps of the store (HTML; polls /api/sweeps)
 *   GET /api/sweeps                    the same as JSON
 *   GET /sweeps/<dir>/                 live page of one sweep (HTML; listens to .../events)
 *   GET /api/sweeps/<dir>              its progress as JSON
 *   GET /api/sweeps/<dir>/events       its progress as server-sent events, pushed on change
 *   GET /sweeps/<dir>/<file>           report.html (the stored one, or built on demand without
 *                                      writing: `?fresh=1` rebuilds it from the stages now),
 *                                      results.csv, results.json, summary.json, spec.yaml, plan.json
 *
 * `<dir>` is a sweep folder name `<name>-<12 hex>` that the store lists. Progress comes from the
 * store (`activities/sweep-progress.ts`: listed stage manifests, failure records, live leases),
 * so it is the same for local and Temporal runs; an optional Temporal probe adds the workflow's
 * view. Artifacts are not re-hashed on each refresh (`dalesweep status` and `verify` do that).
 * Only GET and HEAD are answered (405 otherwise); a path with `.`/`..` segments (also encoded as
 * `%2e%2e`), encoded slashes or backslashes, control characters or empty segments is refused
 * with 400 before anything is read, and every read goes through the store's key checks (which
 * refuse absolute keys and, for the filesystem store, symbolic links leading out of its root).
 * The store is wrapped read-only: no request can write to it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { codeVersion as currentCodeVersion } from '../activities/code-version.js';
import { finalizeSweep, readSweepRecord, type SweepRecord } from '../activities/finalize.js';
import { listSweepFolders, sweepStoreProgress, type SweepFolder, type SweepStoreProgress } from '../activities/sweep-progress.js';
import { getIfPresent, StoreKeyError, type ArtifactStore } from '../store/types.js';
import type { Plan } from '../sweeps/types.js';
import { listPage, sweepPage } from './pages.js';
import { OverlayStore, readOnlyStore } from './stores.js';

/** What a Temporal probe reports about a sweep's workflow (`--temporal-address`). */
export interface TemporalView {
  /** Whether the frontend answered within the probe's timeout. */
  reachable: boolean;
  /** Whether the sweep's workflow is running. */
  running?: boolean;
  /** Stage counts from the workflow's progress query (see engines/temporal.ts). */
  progress?: unknown;
  /** Why the probe has no answer (unreachable, no such workflow). */
  error?: string;
}

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The store to show; it is only ever read (wrapped with {@link readOnlyStore}). */
  store: ArtifactStore;
  /** Milliseconds between progress pushes of the live page's event stream. @default 1000 */
  intervalMs?: number;
  /** Code version the on-demand report records. @default the running build's */
  codeVersion?: string;
  /** Optional probe of the sweep's Temporal workflow; errors and slowness are its own to bound. */
  temporal?: (plan: Plan) => Promise<TemporalView>;
  /**
   * Host names the `Host` header may carry (DNS-rebinding guard for a loopback server), or null
   * to accept any. @default null
   */
  allowedHosts?: readonly string[] | null;
}

/** A sweep as the list shows it. */
export interface SweepListEntry {
  dir: string;
  name: string;
  sweepId: string;
  /** ISO 8601 time its plan was written, or null when the store cannot say. */
  created: string | null;
  status: SweepStoreProgress['status'] | 'unreadable';
  counts: SweepStoreProgress['counts'] | null;
  /** Why the sweep could not be read (status `unreadable`). */
  error?: string;
}

/** A sweep's live state (`/api/sweeps/<dir>` and its event stream). */
export interface SweepView extends SweepStoreProgress {
  dir: string;
  name: string;
  sweepId: string;
  created: string | null;
  /** Whether the store holds a report.html for it. */
  storedReport: boolean;
  /** Number of failures in total (the list is cut to the first 100). */
  failuresTotal: number;
  temporal?: TemporalView;
  /** ISO 8601 time this view was read. */
  readAt: string;
}

/** The dashboard: its request handler and a close that ends open event streams. */
export interface Dashboard {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every open event stream and stops their timers. */
  close(): void;
}

/** A request refused with a status and a one-line reason. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Sweep folder names: `<name>-<first 12 hex digits of the sweep id>` (store/layout.ts). */
const SWEEP_DIR = /^[A-Za-z0-9._-]+-[0-9a-f]{12}$/;

/** Files of a sweep folder the dashboard serves, with their content types. */
const SWEEP_FILES: Record<string, string> = {
  'report.html': 'text/html; charset=utf-8',
  'results.csv': 'text/csv; charset=utf-8',
  'results.json': 'application/json; charset=utf-8',
  'summary.json': 'application/json; charset=utf-8',
  'spec.yaml': 'text/plain; charset=utf-8',
  'plan.json': 'application/json; charset=utf-8',
};

const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The path segments of a request target, decoded, or an {@link HttpError} (400) for anything
 * that could name something outside the dashboard's routes: not origin-form (`/...`), `.` or
 * `..` segments (raw or percent-encoded), empty segments (`//`), encoded `/` or `\`, backslashes,
 * control characters, malformed percent-encoding. A trailing `/` yields a final '' segment.
 */
export function pathSegments(target: string): string[] {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (!path.startsWith('/')) throw new HttpError(400, `path refused: expected /..., got ${JSON.stringify(path.slice(0, 80))}`);
  const raw = path.slice(1).split('/');
  const out: string[] = [];
  raw.forEach((seg, i) => {
    let d: string;
    try {
      d = decodeURIComponent(seg);
    } catch {
      throw new HttpError(400, 'path refused: malformed percent-encoding');
    }
    if (d === '' && i !== raw.length - 1) throw new HttpError(400, 'path refused: empty path segment (//)');
    if (d === '.' || d === '..') throw new HttpError(400, 'path refused: "." and ".." segments may not leave the store');
    if (/[/\\]/.test(d)) throw new HttpError(400, 'path refused: slashes and backslashes may not be encoded in a segment');
    if (/[\u0000-\u001f\u007f]/.test(d)) throw new HttpError(400, 'path refused: control characters');
    out.push(d);
  });
  return out.length === 1 && out[0] === '' ? [] : out;
}

/** Creates the dashboard over `opts.store` (see the module comment for the routes). */
export function createDashboard(opts: DashboardOptions): Dashboard {
  const store = readOnlyStore(opts.store);
  const intervalMs = opts.intervalMs ?? 1000;
  const cv = opts.codeVersion ?? currentCodeVersion();
  const records = new Map<string, Promise<SweepRecord>>();
  const views = new Map<string, { at: number; view: Promise<SweepView> }>();
  const builds = new Map<string, Promise<Uint8Array>>();
  const streams = new Set<{ res: ServerResponse; timer: NodeJS.Timeout }>();

  async function folder(dir: string): Promise<SweepFolder> {
    if (!SWEEP_DIR.test(dir)) throw new HttpError(400, `sweep ${JSON.stringify(dir.slice(0, 80))}: expected a sweep folder name <name>-<12 hex digits>`);
    const f = (await listSweepFolders(store)).find((x) => x.dir === dir);
    if (!f) throw new HttpError(404, `no sweep ${dir} in ${store.url}`);
    return f;
  }

  function record(f: SweepFolder): Promise<SweepRecord> {
    let r = records.get(f.dir);
    if (!r) {
      r = readSweepRecord(store, f.planKey);
      records.set(f.dir, r);
      r.catch(() => records.delete(f.dir)); // retried on the next request
    }
    return r;
  }

  async function created(f: SweepFolder): Promise<string | null> {
    const t = store.modifiedAt ? await store.modifiedAt(f.planKey) : null;
    return t ? t.toISOString() : null;
  }

  async function readView(f: SweepFolder): Promise<SweepView> {
    const rec = await record(f);
    const [progress, when, storedReport, temporal] = await Promise.all([
      sweepStoreProgress(store, rec.plan, { check: 'listing' }),
      created(f),
      store.exists(rec.keys.report),
      opts.temporal ? opts.temporal(rec.plan) : Promise.resolve(undefined),
    ]);
    const view: SweepView = {
      dir: f.dir,
      name: rec.plan.name,
      sweepId: rec.plan.sweepId,
      created: when,
      ...progress,
      failures: progress.failures.slice(0, 100),
      failuresTotal: progress.failures.length,
      storedReport,
      readAt: new Date().toISOString(),
    };
    if (temporal) view.temporal = temporal;
    return view;
  }

  /** One read per sweep per half interval, shared by every client. */
  function view(f: SweepFolder): Promise<SweepView> {
    const now = Date.now();
    const c = views.get(f.dir);
    if (c && now - c.at < intervalMs / 2) return c.view;
    const v = readView(f);
    views.set(f.dir, { at: now, view: v });
    v.catch(() => views.delete(f.dir));
    return v;
  }

  async function list(): Promise<SweepListEntry[]> {
    const folders = await listSweepFolders(store);
    return Promise.all(
      folders.map(async (f): Promise<SweepListEntry> => {
        try {
          const v = await view(f);
          return { dir: f.dir, name: v.name, sweepId: v.sweepId, created: v.created, status: v.status, counts: v.counts };
        } catch (err) {
          return { dir: f.dir, name: f.name, sweepId: f.idPrefix, created: null, status: 'unreadable', counts: null, error: oneLine(err) };
        }
      }),
    );
  }

  /** report.html: the stored one, or (missing, or `fresh`) built now in memory from the stages. */
  async function report(f: SweepFolder, fresh: boolean): Promise<Uint8Array> {
    const rec = await record(f);
    if (!fresh) {
      const stored = await getIfPresent(store, rec.keys.report);
      if (stored !== null) return stored;
    }
    let b = builds.get(f.dir);
    if (!b) {
      b = (async () => {
        const overlay = new OverlayStore(store);
        await finalizeSweep(overlay, rec.plan, { specText: rec.specText, codeVersion: cv });
        return overlay.get(rec.keys.report);
      })();
      builds.set(f.dir, b);
      void b.finally(() => builds.delete(f.dir)).catch(() => undefined);
    }
    return b;
  }

  function events(req: IncomingMessage, res: ServerResponse, f: SweepFolder): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let last = '';
    let busy = false;
    let ticks = 0;
    const push = async (): Promise<void> => {
      if (busy || res.writableEnded) return;
      busy = true;
      try {
        const v = await view(f);
        // readAt changes every time: compare without it, so only a change is pushed.
        const key = JSON.stringify({ ...v, readAt: '' });
        if (key !== last) {
          last = key;
          res.write(`data: ${JSON.stringify(v)}\n\n`);
        } else if (++ticks % Math.max(1, Math.round(15_000 / intervalMs)) === 0) res.write(': keep-alive\n\n');
      } catch (err) {
        res.write(`event: problem\ndata: ${JSON.stringify(oneLine(err))}\n\n`);
      } finally {
        busy = false;
      }
    };
    res.write(`retry: ${Math.max(1000, intervalMs)}\n\n`);
    const entry = { res, timer: setInterval(() => void push(), intervalMs) };
    streams.add(entry);
    const stop = (): void => {
      clearInterval(entry.timer);
      streams.delete(entry);
    };
    req.on('close', stop);
    res.on('close', stop);
    void push();
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, `method ${req.method} not allowed: the dashboard is read-only (GET, HEAD)`);
    }
    if (opts.allowedHosts) {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      if (!opts.allowedHosts.includes(host)) throw new HttpError(403, `host ${JSON.stringify(host.slice(0, 80))} refused: this server answers only ${opts.allowedHosts.join(', ')}`);
    }
    const target = req.url ?? '/';
    const seg = pathSegments(target);
    const query = new URLSearchParams(target.includes('?') ? target.slice(target.indexOf('?') + 1) : '');
    if (seg.length === 0) return send(req, res, 200, 'text/html; charset=utf-8', listPage(), PAGE_CSP);
    if (seg[0] === 'api' && seg[1] === 'sweeps') {
      if (seg.length === 2) return sendJson(req, res, await list());
      const f = await folder(seg[2]);
      if (seg.length === 3) return sendJson(req, res, await view(f));
      if (seg.length === 4 && seg[3] === 'events') return events(req, res, f);
    }
    if (seg[0] === 'sweeps' && seg.length >= 2) {
      const f = await folder(seg[1]);
      if (seg.length === 2) {
        res.writeHead(301, { Location: `/sweeps/${encodeURIComponent(f.dir)}/` }).end();
        return;
      }
      if (seg.length === 3 && seg[2] === '') return send(req, res, 200, 'text/html; charset=utf-8', sweepPage(f.dir), PAGE_CSP);
      if (seg.length === 3 && Object.hasOwn(SWEEP_FILES, seg[2])) {
        const key = `sweeps/${f.dir}/${seg[2]}`;
        const body = seg[2] === 'report.html' ? await report(f, query.get('fresh') === '1') : await getIfPresent(store, key);
        if (body === null) throw new HttpError(404, `${key} is not in the store yet`);
        return send(req, res, 200, SWEEP_FILES[seg[2]], body);
      }
    }
    throw new HttpError(404, `not found: ${seg.join('/').slice(0, 120)}`);
  }

  return {
    handle(req, res) {
      route(req, res).catch((err: unknown) => {
        if (res.headersSent) {
          res.end();
          return;
        }
        const status = err instanceof HttpError ? err.status : err instanceof StoreKeyError ? 400 : 500;
        send(req, res, status, 'text/plain; charset=utf-8', `${oneLine(err)}\n`);
      });
    },
    close() {
      for (const s of streams) {
        clearInterval(s.timer);
        s.res.end();
      }
      streams.clear();
    },
  };
}

function oneLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0].slice(0, 500);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Uint8Array, csp?: string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string | number> = {
    'Content-Type': type,
    'Content-Length': bytes.byteLength,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  if (csp) headers['Content-Security-Policy'] = csp;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function sendJson(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  send(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(value));
}
