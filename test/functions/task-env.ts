// What the Lambda-level tests of one process share: a local S3 with one bucket, the Box emulator (64 KiB
// parts, chunked from 100,000 bytes), one Box client shared by every invocation (as in a warm Lambda),
// and the task handlers over them. `taskEnv()` registers an afterEach that closes what the test started.
import type { S3Client } from '@aws-sdk/client-s3';
import { afterEach } from 'vitest';
import { makeTaskHandlers } from '../../functions/index.ts';
import { startBoxEmulator, type BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth, type RetryOptions } from '../../src/box/index.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { startTestS3, type TestS3 } from '../transfer/helpers.ts';

export const PART = 64 * 1024;

export interface TaskEnv {
  s3: TestS3;
  box: BoxEmulator;
  /** The one Box client every handler of this env uses. */
  client: BoxClient;
  handlers: ReturnType<typeof makeTaskHandlers>;
  /** Handlers over the same Box client but another S3 client (a gated or faulty one). */
  handlersWith(s3: S3Client): ReturnType<typeof makeTaskHandlers>;
}

/** A starter of TaskEnvs for one test file; each is closed after its test. */
export function taskEnv(bucket: string): (retry?: Partial<RetryOptions>) => Promise<TaskEnv> {
  let open: TaskEnv | undefined;
  afterEach(async () => {
    const env = open;
    open = undefined;
    await env?.client.close();
    await env?.box.close();
    await env?.s3.close();
  });
  return async (retry = {}) => {
    const s3 = await startTestS3([bucket]);
    const box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 100_000 });
    const client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl, retry });
    const handlersWith = (s3Client: S3Client) =>
      makeTaskHandlers({ s3: s3Client, box: async () => client, logger: silentLogger, settings: { directUploadMax: 100_000 } });
    open = { s3, box, client, handlers: handlersWith(s3.s3), handlersWith };
    return open;
  };
}
