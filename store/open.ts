/**
 * Opens an artifact store from a URL or path.
 *
 * Forms accepted:
 * - a path, relative (to the working directory) or absolute: `./runs`, `/data/runs` → filesystem
 * - `file:///abs/path` (or `file://localhost/abs/path`) → filesystem; any other `file:` form
 *   (`file:relative/dir`, `file:/abs`, `file://host/path`) is a {@link StoreUrlError}
 * - `s3://<bucket>[/<prefix>][?endpoint=<url>&region=<r>&pathStyle=true|false&createBucket=true]`
 *   → S3. Without `endpoint`, `AWS_ENDPOINT_URL_S3` then `AWS_ENDPOINT_URL` are used (unset: AWS
 *   itself). Region: `region`, else `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`.
 *   `pathStyle` defaults to true when an endpoint is set (MinIO), false for AWS. `createBucket`
 *   creates a missing bucket. Credentials never go in the URL: they come from the AWS chain
 *   (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...).
 *   Example (local MinIO, see infra/minio.sh):
 *   `s3://dalesweep/runs?endpoint=http://127.0.0.1:9100&region=us-east-1&pathStyle=true`
 */
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors/errors.js';
import type { ArtifactStore } from './types.js';
import { FsStore } from './fs.js';
import type { S3StoreOptions } from './s3.js';

/** A store URL that cannot be understood. Exit status 2. */
export class StoreUrlError extends UsageError {
  override name = 'StoreUrlError';
}

const S3_PARAMS = new Set(['endpoint', 'region', 'pathStyle', 'createBucket']);

function bool(url: string, name: string, v: string | null): boolean | undefined {
  if (v === null) return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new StoreUrlError(`store URL ${url}: ${name}=${v}: expected true or false`);
}

/** Options of an S3 store URL, parsed (exported for tests and the CLI's `--help`). */
export function parseS3Url(url: string, env: NodeJS.ProcessEnv = process.env): S3StoreOptions & { createBucket: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreUrlError(`store URL ${url}: expected s3://<bucket>[/<prefix>][?endpoint=...&region=...&pathStyle=true]`);
  }
  if (u.username || u.password) throw new StoreUrlError('store URL: credentials may not appear in the URL; use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile');
  const bucket = u.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new StoreUrlError(`store URL ${url}: bucket ${JSON.stringify(bucket)}: expected 3-63 lower-case letters, digits, dots or hyphens (s3://<bucket>/<prefix>)`);
  }
  for (const k of u.searchParams.keys()) {
    if (!S3_PARAMS.has(k)) throw new StoreUrlError(`store URL ${url}: unknown parameter ${k} (expected ${[...S3_PARAMS].join(', ')})`);
  }
  const endpoint = u.searchParams.get('endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? undefined;
  if (endpoint !== undefined) {
    let e: URL;
    try {
      e = new URL(endpoint);
    } catch {
      throw new StoreUrlError(`store URL ${url}: endpoint ${endpoint}: expected an http(s) URL such as http://127.0.0.1:9100`);
    }
    if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new StoreUrlError(`store URL ${url}: endpoint must be http:// or https://`);
    if (e.username || e.password) throw new StoreUrlError('store URL: the endpoint may not contain credentials; use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY');
  }
  const region = u.searchParams.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const forcePathStyle = bool(url, 'pathStyle', u.searchParams.get('pathStyle')) ?? endpoint !== undefined;
  const createBucket = bool(url, 'createBucket', u.searchParams.get('createBucket')) ?? false;
  const prefix = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '');
  return { bucket, prefix, endpoint, region, forcePathStyle, createBucket };
}

/**
 * The absolute path a `file:` store URL names. Only `file:///abs/path` and
 * `file://localhost/abs/path` are accepted: `file:relative/dir` would otherwise open
 * `/relative/dir`, and `file://host/path` names a path on another machine.
 * @throws StoreUrlError naming the expected form
 */
export function fileUrlPath(url: string): string {
  const expected = 'expected file:///absolute/path (or a plain path such as ./runs)';
  const m = /^file:\/\/([^/?#]*)(\/[^?#]*)?([?#].*)?$/.exec(url);
  if (!m) throw new StoreUrlError(`store URL ${url}: a file: URL must be absolute; ${expected}`);
  const [, host, path, rest] = m;
  if (host !== '' && host.toLowerCase() !== 'localhost') {
    throw new StoreUrlError(`store URL ${url}: host ${JSON.stringify(host)}: a file: URL must name a local path (empty host or localhost); ${expected}`);
  }
  if (path === undefined || path === '/') throw new StoreUrlError(`store URL ${url}: no folder given; ${expected}`);
  if (rest !== undefined) throw new StoreUrlError(`store URL ${url}: a file: URL takes no ?query or #fragment; ${expected}`);
  try {
    return fileURLToPath(`file://${path}`);
  } catch (err) {
    throw new StoreUrlError(`store URL ${url}: ${(err as Error).message}; ${expected}`);
  }
}

export interface OpenStoreOptions {
  /** Check an S3 bucket (exists, credentials accepted) before returning. @default true */
  check?: boolean;
  /** Environment to read AWS_ENDPOINT_URL* / AWS_REGION from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens the store a URL or path names (see the module comment for the forms).
 * @throws StoreUrlError (exit 2) for a malformed URL; for S3, StoreAuthError when the
 *   credentials are rejected and StoreNotFoundError when the bucket is missing
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<ArtifactStore> {
  if (!url) throw new StoreUrlError('store: expected a path (e.g. ./runs), file:///abs/path or s3://bucket/prefix');
  if (url.startsWith('s3://')) {
    const o = parseS3Url(url, opts.env);
    const { S3Store } = await import('./s3.js'); // the AWS SDK loads only when an S3 store is used
    const store = new S3Store(o);
    if (opts.check ?? true) await store.check(o.createBucket);
    return store;
  }
  if (url.startsWith('file:')) return new FsStore(fileUrlPath(url));
  if (/^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(url)) {
    throw new StoreUrlError(`store URL ${url}: unsupported scheme (expected a path, file:///abs/path or s3://bucket/prefix)`);
  }
  return new FsStore(url);
}
