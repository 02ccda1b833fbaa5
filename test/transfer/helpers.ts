// Test helpers: s3rver on a free loopback port over a temp folder, and a path-style S3 client for it.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LambdaContextLike } from '../../src/transfer/contract.ts';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;
// s3rver ships no types; only its constructor, run() and close() are used here.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

export interface TestS3 {
  endpoint: string;
  s3: S3Client;
  put(bucket: string, key: string, body: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export async function startTestS3(buckets: string[]): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 's3-to-box-transfer-test-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  for (const Bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket }));
  return {
    endpoint,
    s3,
    async put(bucket, key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async close() {
      s3.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes, different for each seed (shared with the emulator tests). */
export { bytes as testBytes } from '../emulator/helpers.ts';

let requests = 0;
export function lambdaContext(remainingMs: () => number = () => 600_000): LambdaContextLike {
  return { awsRequestId: `test-${++requests}`, getRemainingTimeInMillis: remainingMs };
}
