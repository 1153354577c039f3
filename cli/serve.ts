/**
 * `dalesweep serve [--store URL] [--port 8080] [--host 127.0.0.1]`: a read-only live dashboard
 * of the sweeps in a store (`serve/server.ts`). Loopback by default; binding any other address
 * needs an explicit `--host` and prints a warning. With `--temporal-address`, each sweep's page
 * also shows its Temporal workflow's own progress when the frontend answers within a few seconds.
 */
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import { Option, type Command } from 'commander';
import type { Plan } from '../sweeps/types.js';
import { createDashboard, type TemporalView } from '../serve/server.js';
import { RunFailedError, UsageError } from '../errors/errors.js';
import { namespaceOption, openStoreFlag, positiveNumber, storeOption } from './options.js';

interface ServeFlags {
  store: string;
  port: number;
  host: string;
  interval: number;
  temporalAddress?: string;
  namespace: string;
}

/** Registers the `serve` sub-command. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve a read-only live dashboard of the sweeps in a store (loopback by default)')
    .addOption(storeOption())
    .addOption(new Option('--port <port>', 'TCP port (0: any free port)').default(8080).argParser(portNumber))
    .addOption(new Option('--host <address>', 'address to bind; anything but loopback is reachable from other machines').default('127.0.0.1'))
    .option('--interval <seconds>', 'seconds between progress updates of the live pages', positiveNumber('--interval'), 1)
    .addOption(
      new Option('--temporal-address <host:port>', "also show each sweep's Temporal workflow progress when this frontend answers").env('DALESWEEP_TEMPORAL_ADDRESS').argParser((v: string) => {
        if (!/^[^:\s]+:\d+$/.test(v)) throw new UsageError(`--temporal-address must be HOST:PORT, got '${v}'`);
        return v;
      }),
    )
    .addOption(namespaceOption())
    .action(async (o: ServeFlags) => serveCommand(o));
}

function portNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isInteger(n) || n > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got '${v}'`);
  return n;
}

/** Whether an address to bind is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

async function serveCommand(o: ServeFlags): Promise<void> {
  if (o.host.trim() === '') throw new UsageError('--host needs an address, e.g. 127.0.0.1 or 0.0.0.0');
  const store = await openStoreFlag(o.store);
  const loopback = isLoopback(o.host);
  const dashboard = createDashboard({
    store,
    intervalMs: Math.max(100, Math.round(o.interval * 1000)),
    temporal: o.temporalAddress ? temporalProbe(o.temporalAddress, o.namespace) : undefined,
    // A page on another site may resolve its own name to 127.0.0.1 (DNS rebinding): answer only
    // requests addressed to loopback names when bound to loopback.
    allowedHosts: loopback ? ['127.0.0.1', 'localhost', '[::1]', o.host.toLowerCase()] : null,
  });
  const server = createServer((req, res) => dashboard.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new RunFailedError(`port ${o.port} on ${o.host} is already in use: stop the other server or choose another --port`));
      else if (err.code === 'EACCES') reject(new RunFailedError(`cannot listen on ${o.host}:${o.port}: permission denied (ports below 1024 need privileges; choose another --port)`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') reject(new UsageError(`--host ${o.host}: not an address of this machine`));
      else reject(new RunFailedError(`cannot listen on ${o.host}:${o.port}: ${err.message}`));
    });
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
  const shown = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
  if (!loopback) process.stderr.write(`warning: serving on ${o.host}, not loopback: anyone who can reach it can read every sweep in ${store.url}\n`);
  process.stdout.write(`dalesweep serve: http://${shown}:${port}/ (store ${store.url}, read-only; Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      dashboard.close();
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * A probe of a sweep's Temporal workflow: one client for the server's life (connecting starts
 * with the server), each question bounded to a few seconds, and a frontend that did not answer
 * left alone for 10 s before it is asked again.
 */
function temporalProbe(address: string, namespace: string): (plan: Plan) => Promise<TemporalView> {
  const TIMEOUT_MS = 3000;
  let client: Promise<import('@temporalio/client').Client> | null = null;
  let downUntil = 0;
  let lastError = '';
  const connect = (): Promise<import('@temporalio/client').Client> => {
    const c = (async () => {
      const { Client, Connection } = await import('@temporalio/client');
      const connection = await Connection.connect({ address, connectTimeout: TIMEOUT_MS });
      return new Client({ connection, namespace });
    })();
    c.catch(() => {
      if (client === c) client = null; // connect again on the next question
    });
    return c;
  };
  client = connect();
  const bounded = <T>(p: Promise<T>, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${what} did not answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
      p.then(resolve, reject).finally(() => clearTimeout(t));
    });
  return async (plan) => {
    if (Date.now() < downUntil) return { reachable: false, error: lastError };
    try {
      client ??= connect();
      const c = await bounded(client, `the Temporal frontend at ${address}`);
      const { querySweepStatus } = await import('../engines/temporal.js');
      const st = await bounded(querySweepStatus(plan.sweepId, { address, namespace, plan, client: c }), `the workflow of ${plan.name}`);
      return { reachable: true, running: st.running, progress: st.progress ?? undefined };
    } catch (err) {
      const e = err as Error;
      if (e?.name === 'WorkflowNotFoundError') return { reachable: true, running: false, error: 'no workflow for this sweep (a local run, or not started on Temporal)' };
      downUntil = Date.now() + 10_000;
      lastError = (e?.message ?? String(err)).split('\n')[0].slice(0, 300);
      return { reachable: false, error: lastError };
    }
  };
}
