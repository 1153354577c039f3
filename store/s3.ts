/**
 * S3 artifact store (AWS S3, MinIO, any S3-compatible server). Objects live under
 * `s3://<bucket>/<prefix>/<key>`. Credentials come from the standard AWS chain (environment,
 * shared config/credentials files, SSO, instance roles) and are never printed or put in a URL.
 * Objects above {@link S3StoreOptions.multipartThreshold} are uploaded in parts
 * (`@aws-sdk/lib-storage` `Upload`); S3 PUTs are atomic, so readers never see partial objects.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StoreError, StoreNotFoundError, type ArtifactStore } from './types.js';
import { validateKey, validatePrefix } from './layout.js';

/** The server rejected the credentials, or none were found (their values are never shown). */
export class StoreAuthError extends StoreError {
  override name = 'StoreAuthError';
}

/** The store could not be reached or answered with an unexpected error. */
export class StoreAccessError extends StoreError {
  override name = 'StoreAccessError';
}

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (no leading/trailing `/` needed). @default '' */
  prefix?: string;
  /** Endpoint URL for S3-compatible servers, e.g. `http://127.0.0.1:9100`. @default AWS */
  endpoint?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by MinIO. @default false */
  forcePathStyle?: boolean;
  /** Explicit credentials (tests); otherwise the standard AWS chain. */
  credentials?: S3ClientConfig['credentials'];
  /** Objects larger than this many bytes use multipart upload. @default 8 MiB */
  multipartThreshold?: number;
  /** Part size of multipart uploads (S3 minimum 5 MiB). @default 8 MiB */
  partSize?: number;
  /** Keys per ListObjectsV2 page (1..1000). @default 1000 */
  listPageSize?: number;
  /** Attempts per request (SDK retry strategy). @default 3 */
  maxAttempts?: number;
}

const AUTH_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'CredentialsProviderError',
  'Forbidden',
]);

interface SdkError {
  name?: string;
  message?: string;
  Code?: string;
  /** Node's system error code of a failed connection (ECONNREFUSED, ENOTFOUND, ...). */
  code?: string;
  /** The host a failed DNS lookup asked for. */
  hostname?: string;
  /** The errors of a connection tried on several addresses (Node's AggregateError). */
  errors?: unknown[];
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Why a connection to the endpoint failed, in words, by Node's error code. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  ECONNABORTED: 'connection aborted',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPROTO: 'TLS handshake failed',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed: is it an http:// endpoint?',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
};

/**
 * The network failure behind an SDK error, if it is one: the error's own code, that of the
 * first address tried (AggregateError) or that of its cause.
 */
function networkFailure(err: unknown): { code: string; hostname?: string } | undefined {
  const seen = new Set<unknown>();
  let e = err as SdkError | null | undefined;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (typeof e.code === 'string' && e.code in NETWORK_ERRORS) return { code: e.code, hostname: e.hostname };
    if (e.name === 'TimeoutError') return { code: 'ETIMEDOUT' };
    const first = Array.isArray(e.errors) ? (e.errors[0] as SdkError | undefined) : undefined;
    e = first ?? (e.cause as SdkError | undefined);
  }
  return undefined;
}

function statusOf(err: unknown): number | undefined {
  return (err as SdkError | null)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string {
  const e = err as SdkError | null;
  return e?.name ?? e?.Code ?? 'Error';
}

/** An {@link ArtifactStore} over an S3 bucket. */
export class S3Store implements ArtifactStore {
  readonly url: string;
  readonly bucket: string;
  /** Prefix with a trailing `/`, or `''`. */
  readonly prefix: string;
  readonly client: S3Client;
  private readonly endpoint: string | undefined;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly listPageSize: number;

  constructor(opts: S3StoreOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) {
      throw new StoreAccessError(`S3 bucket ${JSON.stringify(opts.bucket)}: expected 3-63 lower-case letters, digits, dots or hyphens`);
    }
    const rawPrefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (rawPrefix) validatePrefix(`${rawPrefix}/`);
    this.bucket = opts.bucket;
    this.prefix = rawPrefix ? `${rawPrefix}/` : '';
    this.endpoint = opts.endpoint;
    const q: string[] = [];
    const enc = (v: string): string => (/^[A-Za-z0-9:/._-]+$/.test(v) ? v : encodeURIComponent(v));
    if (opts.endpoint) q.push(`endpoint=${enc(opts.endpoint)}`);
    if (opts.region) q.push(`region=${enc(opts.region)}`);
    if (opts.forcePathStyle !== undefined) q.push(`pathStyle=${opts.forcePathStyle}`);
    const qs = q.join('&');
    this.url = `s3://${this.bucket}/${rawPrefix}${qs ? `?${qs}` : ''}`;
    this.multipartThreshold = opts.multipartThreshold ?? 8 * 1024 * 1024;
    this.partSize = Math.max(5 * 1024 * 1024, opts.partSize ?? 8 * 1024 * 1024);
    this.listPageSize = Math.min(1000, Math.max(1, opts.listPageSize ?? 1000));
    this.client = new S3Client({
      region: opts.region ?? 'us-east-1',
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? false,
      credentials: opts.credentials,
      maxAttempts: opts.maxAttempts ?? 3,
    });
  }

  private objectKey(key: string): string {
    validateKey(key);
    return this.prefix + key;
  }

  /** Turns an SDK error into a store error that names the operation and object, never secrets. */
  private fail(op: string, key: string | null, err: unknown): Error {
    const name = nameOf(err);
    const status = statusOf(err);
    const where = key === null ? `s3://${this.bucket}/${this.prefix}` : `s3://${this.bucket}/${this.prefix}${key}`;
    const at = this.endpoint ? ` at ${this.endpoint}` : '';
    if (name === 'CredentialsProviderError') {
      return new StoreAuthError(`${op} ${where}${at}: no AWS credentials found (set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE)`, { cause: err });
    }
    if (AUTH_ERRORS.has(name) || status === 403) {
      return new StoreAuthError(`${op} ${where}${at}: the server rejected the credentials (${name === 'Unknown' ? '' : `${name}, `}HTTP ${status ?? '?'}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile in use`, {
        cause: err,
      });
    }
    if (name === 'NoSuchBucket') return new StoreNotFoundError(`${op} ${where}${at}: bucket ${this.bucket} does not exist`);
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new StoreNotFoundError(`${op} ${where}${at}: no such object`);
    const net = status === undefined ? networkFailure(err) : undefined;
    if (net) {
      const target = this.endpoint ? `the S3 endpoint ${this.endpoint}` : `AWS S3${net.hostname ? ` (${net.hostname})` : ''}`;
      return new StoreAccessError(`${op} ${where}: cannot reach ${target} (${NETWORK_ERRORS[net.code]})`, { cause: err });
    }
    const msg = (err as SdkError | null)?.message ?? String(err);
    const label = name === 'Error' || name === 'Unknown' ? '' : `${name}${status ? ` (HTTP ${status})` : ''}: `;
    const plainStatus = label === '' && status ? `HTTP ${status}: ` : '';
    return new StoreAccessError(`${op} ${where}${at}: ${label}${plainStatus}${msg}`, { cause: err });
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const Key = this.objectKey(key);
    try {
      if (data.byteLength > this.multipartThreshold) {
        const up = new Upload({ client: this.client, params: { Bucket: this.bucket, Key, Body: data }, partSize: this.partSize, queueSize: 4, leavePartsOnError: false });
        await up.done();
      } else {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.byteLength }));
      }
    } catch (err) {
      throw this.fail('put', key, err);
    }
  }

  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const Key = this.objectKey(key);
    // 409 ConditionalRequestConflict: a concurrent conditional write on the key; try again.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.byteLength, IfNoneMatch: '*' }));
        return true;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || nameOf(err) === 'PreconditionFailed') return false;
        if (status === 409 && attempt < 5) {
          await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
          continue;
        }
        throw this.fail('put (if absent)', key, err);
      }
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!res.Body) throw new StoreAccessError(`get s3://${this.bucket}/${Key}: empty response body`);
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (err instanceof StoreAccessError) throw err;
      throw this.fail('get', key, err);
    }
  }

  async modifiedAt(key: string): Promise<Date | null> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return res.LastModified ?? null;
    } catch (err) {
      const e = this.fail('head', key, err);
      if (e instanceof StoreNotFoundError && nameOf(err) !== 'NoSuchBucket') return null;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return true;
    } catch (err) {
      const e = this.fail('head', key, err);
      if (e instanceof StoreNotFoundError && nameOf(err) !== 'NoSuchBucket') return false;
      throw e;
    }
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token, MaxKeys: this.listPageSize }),
        );
        for (const o of res.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.fail('list', prefix, err);
    }
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      const e = this.fail('delete', key, err);
      if (!(e instanceof StoreNotFoundError) || nameOf(err) === 'NoSuchBucket') throw e;
    }
  }

  /**
   * Checks that the bucket exists and the credentials are accepted.
   * @param create create the bucket when it is missing
   * @throws StoreAuthError, StoreNotFoundError (bucket missing), StoreAccessError
   */
  async check(create = false): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      const e = this.fail('open', null, err);
      if (!(e instanceof StoreNotFoundError)) throw e;
      if (!create) {
        throw new StoreNotFoundError(`${e.message.replace(/: no such object$/, '')}: bucket ${this.bucket} does not exist (create it, or add createBucket=true to the store URL)`);
      }
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const n = nameOf(err);
      if (n !== 'BucketAlreadyOwnedByYou' && n !== 'BucketAlreadyExists') throw this.fail('create bucket', null, err);
    }
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
