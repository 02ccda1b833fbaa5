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
import type { Readable } from 'node:stream';
import { Agent, request } from '../box/undici.ts';
import type { SourceObject } from '../transfer/contract.ts';
import { DeadlineError } from '../transfer/errors.ts';
import { withinRequestBudget } from '../transfer/request-budget.ts';
import { EMPTY_SHA256, bucketEndpoint, leanServesKey, normalizeEtag, objectPath } from '../transfer/s3endpoint.ts';
import { describeSource, readRange } from '../transfer/s3source.ts';

/** Keep-alive connections per S3 endpoint, as the SDK's node:http handler's default (50). */
const CONNECTIONS = 50;

const agents = new WeakMap<S3Client, InstanceType<typeof Agent>>();

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
  // The SDK alone: the lean read already had its try.
  return read ?? readRange(s3, source, 0, source.size, signal, undefined, false);
}

function agentOf(s3: S3Client): InstanceType<typeof Agent> {
  let agent = agents.get(s3);
  if (agent === undefined) {
    agent = new Agent({ connections: CONNECTIONS, keepAliveTimeout: 4_000 });
    agents.set(s3, agent);
  }
  return agent;
}

/** The bytes, or undefined when the lean path does not serve this object (the SDK reads it instead). */
async function leanRead(s3: S3Client, source: SourceObject, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
  const target = await bucketEndpoint(s3, source.bucket);
  if (target === undefined || !leanServesKey(source.key)) return undefined;
  const path = objectPath(target, source.key);
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
  const res = await request(`${target.origin}${path}${search}`, { method: 'GET', headers: signed.headers, dispatcher: agentOf(s3), ...(signal !== undefined ? { signal } : {}) });
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
