// Bulk-run harness: the e2e environment (s3rver + Box emulator + real handlers) plus a report bucket, a
// count of the S3 requests that read object bytes, and helpers to run the bulk state machine locally.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ensureBucket } from '../../local/runner/index.ts';
import { startSync } from '../../local/runner/bulk.ts';
import type { RunSyncOptions, SyncEvent, SyncExecution } from '../../local/runner/bulk.ts';
import type { ObjectResult, SyncInput } from '../../src/bulk/contract.ts';
import { leanGetChannel } from '../../src/transfer/leanGet.ts';
import { BUCKET, startEnv } from '../e2e/harness.ts';
import type { E2eEnv } from '../e2e/harness.ts';

export { BUCKET };
export const REPORT_BUCKET = 'report-bucket';

export interface BulkEnv extends E2eEnv {
  /** S3 requests by command name since the start (GetObject counts reads of object bytes, the lean ones too, and of manifests). */
  s3Calls: Record<string, number>;
  /** GetObject calls on the source bucket (object bytes read). */
  sourceReads(): number;
  sync(input: SyncInput, options?: Partial<RunSyncOptions>): SyncExecution & { events: SyncEvent[] };
  readReport(bucket: string, key: string): Promise<ObjectResult[]>;
}

/** Counts every command the client sends, and GetObjects on the source bucket. */
function countCalls(client: S3Client, calls: Record<string, number>, sourceGets: { n: number }): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      calls[name] = (calls[name] ?? 0) + 1;
      if (name === 'GetObjectCommand' && (args.input as { Bucket?: string }).Bucket === BUCKET) sourceGets.n++;
      return next(args);
    },
    { step: 'initialize', name: 'bulkTestCallCounter' },
  );
}

/**
 * Counts the GETs that do not go through the SDK, as GetObjects: SyncBatch's lean read of small objects
 * (src/bulk/smallRead.ts: undici), seen through undici's diagnostics channel, and the lean ranged GETs of the
 * parts and the hash (src/transfer/leanGet.ts), seen through its own.
 */
function countLeanGets(endpoint: string, calls: Record<string, number>, sourceGets: { n: number }): () => void {
  const origin = new URL(endpoint).origin;
  const count = (requestOrigin: string, method: string, path: string): void => {
    if (new URL(requestOrigin).origin !== origin || method !== 'GET') return;
    calls['GetObjectCommand'] = (calls['GetObjectCommand'] ?? 0) + 1;
    if (path.startsWith(`/${BUCKET}/`)) sourceGets.n++;
  };
  const onCreate = (message: unknown): void => {
    const { request } = message as { request: { origin: string | URL; method: string; path: string } };
    count(String(request.origin), request.method, request.path);
  };
  const onLeanGet = (message: unknown): void => {
    const { origin: o, path } = message as { origin: string; path: string };
    count(o, 'GET', path);
  };
  subscribe('undici:request:create', onCreate);
  leanGetChannel.subscribe(onLeanGet);
  return () => {
    unsubscribe('undici:request:create', onCreate);
    leanGetChannel.unsubscribe(onLeanGet);
  };
}

export async function startBulkEnv(options: Parameters<typeof startEnv>[0] = {}): Promise<BulkEnv> {
  const env = await startEnv(options);
  await ensureBucket(env.s3.client, REPORT_BUCKET);
  const s3Calls: Record<string, number> = {};
  const sourceGets = { n: 0 };
  countCalls(env.s3.client, s3Calls, sourceGets);
  const stopCountingLean = countLeanGets(env.s3.endpoint, s3Calls, sourceGets);
  const close = env.close.bind(env);
  return Object.assign(env, {
    close: async () => {
      stopCountingLean();
      await close();
    },
    s3Calls,
    sourceReads: () => sourceGets.n,
    sync(input: SyncInput, runOptions: Partial<RunSyncOptions> = {}) {
      const events: SyncEvent[] = [];
      const execution = startSync(input, {
        waitTimeScale: 0,
        ...runOptions,
        deps: runOptions.deps ?? env.deps,
        onEvent: (e) => {
          events.push(e);
          runOptions.onEvent?.(e);
        },
      });
      return Object.assign(execution, { events });
    },
    async readReport(bucket: string, key: string): Promise<ObjectResult[]> {
      const res = await env.s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = (await res.Body?.transformToString('utf8')) ?? '';
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as ObjectResult);
    },
  });
}

/** The Box file at `path` below folder `rootId`, through the emulator's own view; undefined when a folder or the file is missing. */
export function boxFileAt(box: E2eEnv['box'], path: string, rootId = '0'): { sha1: string; size: number } | undefined {
  const segments = path.split('/');
  const name = segments.pop() as string;
  let folder = rootId;
  for (const segment of segments) {
    const found = box.findFolder(folder, segment);
    if (found === undefined) return undefined;
    folder = found.id;
  }
  const file = box.findFile(folder, name);
  return file === undefined ? undefined : { sha1: String(file.sha1), size: Number(file.size) };
}

export const MiB = 1024 * 1024;

/**
 * A bulk environment started before each test of the file that calls this and closed after it, where objects
 * from 1 MiB up are chunked in 1 MiB parts (nested transfers with several parts from small objects). Read it
 * through the returned function, inside a test.
 */
export function chunkedFromOneMiBForEachTest(): () => BulkEnv {
  let env: BulkEnv | undefined;
  beforeEach(async () => {
    env = await startBulkEnv({ emulator: { minChunkedFileSize: MiB, partSize: MiB }, settings: { directUploadMax: MiB } });
  });
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });
  return () => {
    if (env === undefined) throw new Error('the bulk environment exists only inside a test');
    return env;
  };
}
