// Test helpers: the local S3 (s3rver on a free loopback port over a temp folder, with a path-style client)
// with a one-call put.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { startLocalS3 } from '../../local/runner/local-s3.ts';
import type { LambdaContextLike } from '../../src/transfer/contract.ts';

export interface TestS3 {
  endpoint: string;
  s3: S3Client;
  put(bucket: string, key: string, body: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export async function startTestS3(buckets: string[]): Promise<TestS3> {
  const local = await startLocalS3({ buckets });
  return {
    endpoint: local.endpoint,
    s3: local.client,
    async put(bucket, key, body) {
      await local.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    close: () => local.close(),
  };
}

/** Deterministic pseudo-random bytes, different for each seed (shared with the emulator tests). */
export { bytes as testBytes } from '../emulator/helpers.ts';

let requests = 0;
export function lambdaContext(remainingMs: () => number = () => 600_000): LambdaContextLike {
  return { awsRequestId: `test-${++requests}`, getRemainingTimeInMillis: remainingMs };
}
