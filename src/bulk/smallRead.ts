// Reading a small object whole (a bulk batch's direct uploads): one signed GET over a keep-alive undici
// pool instead of a GetObject through the AWS SDK. On a 100 KiB object the SDK's middleware stack
// (endpoint rules, serde, retry, logging filters) and node:http cost about 1.1 ms of CPU per request,
// this path about 0.4 ms (BENCHMARKS.md, bulk runs), and a batch of small objects spends most of its CPU
// there. It takes only the plain case and leaves everything else to the SDK (src/transfer/s3source.ts
// readRange), which then reads the object as before and turns any failure into the same named error:
// - the endpoint, the signing name and region come from the client's own endpoint rules (resolved once per
//   bucket), so a custom endpoint, path-style, FIPS or dual-stack settings are honoured; an access point
//   ARN, S3 Express, SigV4a or any rule that adds headers goes to the SDK;
// - credentials are the client's own provider (signed with SigV4 as the SDK signs);
// - any answer but a 2xx holding exactly the pinned bytes (same ETag, version and size), and any network
//   error, goes to the SDK: S3's errors, throttling and retries keep one implementation.
// It runs inside the invocation's request budget as every S3 request does; a cut is Transfer.Deadline.
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Readable } from 'node:stream';
import { Agent, request } from '../box/undici.ts';
import type { SourceObject } from '../transfer/contract.ts';
import { DeadlineError } from '../transfer/errors.ts';
import { withinRequestBudget } from '../transfer/request-budget.ts';
import { describeSource, readRange } from '../transfer/s3source.ts';

/** SHA-256 of an empty payload: a GET's x-amz-content-sha256. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Keep-alive connections per S3 endpoint, as the SDK's node:http handler's default (50). */
const CONNECTIONS = 50;

interface BucketEndpoint {
  /** e.g. https://bucket.s3.eu-west-1.amazonaws.com or http://127.0.0.1:4569/bucket (no trailing slash). */
  origin: string;
  basePath: string;
  host: string;
  signer: SignatureV4;
}

interface LeanReader {
  endpoints: Map<string, Promise<BucketEndpoint | undefined>>;
  agent: InstanceType<typeof Agent>;
}

const readers = new WeakMap<S3Client, LeanReader>();

/**
 * The whole pinned object (`source.size` bytes, If-Match its ETag, its version if pinned), as readRange
 * would return it, read through the lean path when it can serve it.
 */
export async function readSmallObject(s3: S3Client, source: SourceObject, signal?: AbortSignal): Promise<Buffer> {
  if (source.size === 0) return Buffer.alloc(0);
  const read = await withinRequestBudget(`GetObject ${describeSource(source)}`, signal, (within) => leanRead(s3, source, within)).catch((err: unknown) => {
    // A cut by the budget or the caller is final; anything else is the SDK's to read and to name.
    if (err instanceof DeadlineError || signal?.aborted === true) throw err;
    return undefined;
  });
  return read ?? readRange(s3, source, 0, source.size, signal);
}

function readerOf(s3: S3Client): LeanReader {
  let reader = readers.get(s3);
  if (reader === undefined) {
    reader = { endpoints: new Map(), agent: new Agent({ connections: CONNECTIONS, keepAliveTimeout: 4_000 }) };
    readers.set(s3, reader);
  }
  return reader;
}

/** The bytes, or undefined when the lean path does not serve this object (the SDK reads it instead). */
async function leanRead(s3: S3Client, source: SourceObject, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
  const reader = readerOf(s3);
  let endpoint = reader.endpoints.get(source.bucket);
  if (endpoint === undefined) {
    endpoint = resolveEndpoint(s3, source.bucket).catch(() => undefined);
    reader.endpoints.set(source.bucket, endpoint);
  }
  const target = await endpoint;
  if (target === undefined || !leanServesKey(source.key)) return undefined;
  const path = `${target.basePath}/${source.key.split('/').map(encodeKeySegment).join('/')}`;
  const query: Record<string, string> = source.versionId !== undefined ? { versionId: source.versionId } : {};
  const signed = await target.signer.sign({
    method: 'GET',
    protocol: '',
    hostname: target.host,
    path,
    query,
    headers: { host: target.host, range: `bytes=0-${source.size - 1}`, 'if-match': source.etag, 'x-amz-content-sha256': EMPTY_SHA256 },
  });
  const search = source.versionId !== undefined ? `?versionId=${encodeURIComponent(source.versionId)}` : '';
  const res = await request(`${target.origin}${path}${search}`, { method: 'GET', headers: signed.headers, dispatcher: reader.agent, ...(signal !== undefined ? { signal } : {}) });
  const body = res.body as unknown as Readable;
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    body.resume();
    return undefined;
  }
  const header = (name: string): string | undefined => {
    const v = res.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const etag = header('etag');
  const versionId = header('x-amz-version-id');
  const total = header('content-range')?.match(/\/(\d+)$/)?.[1];
  if (
    (etag !== undefined && normalizeEtag(etag) !== normalizeEtag(source.etag)) ||
    (source.versionId !== undefined && versionId !== undefined && versionId !== source.versionId) ||
    (total !== undefined && Number(total) !== source.size)
  ) {
    body.destroy();
    return undefined;
  }
  const bytes = Buffer.allocUnsafe(source.size);
  let filled = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (filled + chunk.byteLength > bytes.byteLength) {
      body.destroy();
      return undefined;
    }
    chunk.copy(bytes, filled);
    filled += chunk.byteLength;
  }
  return filled === source.size ? bytes : undefined;
}

/** The bucket's endpoint as the client's own rules give it, if it is plain SigV4 with no extra headers. */
async function resolveEndpoint(s3: S3Client, bucket: string): Promise<BucketEndpoint | undefined> {
  if (bucket.startsWith('arn:')) return undefined;
  const config = s3.config;
  const custom = config.isCustomEndpoint && config.endpoint !== undefined ? await config.endpoint() : undefined;
  const region = await config.region();
  const resolved = config.endpointProvider({
    Bucket: bucket,
    Region: region,
    UseFIPS: await config.useFipsEndpoint(),
    UseDualStack: await config.useDualstackEndpoint(),
    ForcePathStyle: config.forcePathStyle,
    Accelerate: config.useAccelerateEndpoint,
    UseGlobalEndpoint: await setting(config.useGlobalEndpoint),
    DisableMultiRegionAccessPoints: config.disableMultiregionAccessPoints,
    DisableS3ExpressSessionAuth: await setting(config.disableS3ExpressSessionAuth),
    ...(custom !== undefined ? { Endpoint: `${custom.protocol}//${custom.hostname}${custom.port !== undefined ? `:${custom.port}` : ''}${custom.path}` } : {}),
  });
  const schemes = resolved.properties?.['authSchemes'] as Array<{ name?: string; signingName?: string; signingRegion?: string }> | undefined;
  const scheme = schemes?.[0];
  if (scheme?.name !== 'sigv4' || Object.keys(resolved.headers ?? {}).length > 0 || resolved.url.search !== '') return undefined;
  const url = resolved.url;
  return {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    host: url.host,
    signer: new SignatureV4({
      credentials: config.credentials,
      region: scheme.signingRegion ?? region,
      service: scheme.signingName ?? 's3',
      sha256: config.sha256,
      uriEscapePath: false,
      applyChecksum: false,
    }),
  };
}

/** A client setting given as a value or as a provider of one. */
async function setting(value: boolean | (() => Promise<boolean | undefined>) | undefined): Promise<boolean | undefined> {
  return typeof value === 'function' ? value() : value;
}

/** Keys whose path a URL could read otherwise (empty or dot segments) or with control characters go to the SDK. */
export function leanServesKey(key: string): boolean {
  // eslint-disable-next-line no-control-regex
  return key !== '' && !/[\u0000-\u001f\u007f]/.test(key) && key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** As the SDK encodes a key's segments: encodeURIComponent, plus the characters it leaves alone. */
function encodeKeySegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '');
}
