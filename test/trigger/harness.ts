// End-to-end environment for the trigger: s3rver (whose own object-created events are captured), the
// Box emulator, and the local Step Functions server running the real state machine; the startTransfer
// handler is built with a real SFNClient pointed at that server. Everything on loopback, free ports.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import S3rver from 's3rver';
import { makeStartTransferHandler } from '../../functions/startTransfer.ts';
import type { StartTransferHandler } from '../../functions/startTransfer.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { parseRoutes } from '../../src/trigger/routes.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { ensureBucket, localS3Client, putGeneratedObject } from '../../local/runner/index.ts';
import type { GeneratedObject } from '../../local/runner/index.ts';
import { startLocalStepFunctions } from '../../local/sfn/index.ts';
import type { LocalStepFunctions } from '../../local/sfn/index.ts';
import { sha1OfStream } from '../support/streams.ts';

export const BUCKET = 'trigger-source';
/** Objects from this size up go through Box's chunked upload (64 KiB parts) in these tests. */
export const CHUNKED_FROM = 100_000;

export interface TriggerEnv {
  box: BoxEmulator;
  boxClient: BoxClient;
  sfnServer: LocalStepFunctions;
  sfn: SFNClient;
  handler: StartTransferHandler;
  /** The Box folder TRANSFER_ROUTES sends s3://trigger-source/inbox/* to. */
  folderId: string;
  /** Events s3rver emitted, in order. */
  s3Events: unknown[];
  put(key: string, size: number): Promise<GeneratedObject>;
  /** Polls DescribeExecution (real SDK, over HTTP) until the execution has ended. */
  waitForExecution(executionArn: string): Promise<DescribeExecutionCommandOutput>;
  download(fileId: string): Promise<{ sha1: string; size: number }>;
  close(): Promise<void>;
}

export async function startTriggerEnv(): Promise<TriggerEnv> {
  const dir = await mkdtemp(join(tmpdir(), 's3-to-box-trigger-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    // s3rver itself (not startLocalS3, which keeps the server private) so its 'event's can be captured.
    const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3') });
    const s3Events: unknown[] = [];
    s3rver.on('event', (event) => s3Events.push(event));
    const { port } = await s3rver.run();
    cleanups.push(() => s3rver.close());
    const s3 = localS3Client(`http://127.0.0.1:${port}`);
    cleanups.push(async () => s3.destroy());
    await ensureBucket(s3, BUCKET);

    const box = await startBoxEmulator({ partSize: 64 * 1024, minChunkedFileSize: CHUNKED_FROM });
    cleanups.push(() => box.close());
    const boxClient = new BoxClient({
      auth: new DeveloperTokenAuth(box.token),
      apiUrl: box.url,
      uploadUrl: box.uploadUrl,
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    });
    cleanups.push(() => boxClient.close());
    const folderId = (await box.createFolder('inbox')).id;

    const sfnServer = await startLocalStepFunctions({
      deps: { s3, box: async () => boxClient, logger: silentLogger, settings: { directUploadMax: CHUNKED_FROM } },
      run: { waitTimeScale: 0 },
    });
    cleanups.push(() => sfnServer.close());
    const sfn = new SFNClient({
      endpoint: sfnServer.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    cleanups.push(async () => sfn.destroy());

    const handler = makeStartTransferHandler({
      sfn,
      stateMachineArn: sfnServer.stateMachineArn,
      routes: parseRoutes(JSON.stringify([{ bucket: BUCKET, prefix: 'inbox/', folderId }])),
      logger: silentLogger,
    });

    return {
      box,
      boxClient,
      sfnServer,
      sfn,
      handler,
      folderId,
      s3Events,
      put: (key, size) => putGeneratedObject(s3, { bucket: BUCKET, key, size }),
      async waitForExecution(executionArn) {
        for (let attempt = 0; attempt < 2000; attempt++) {
          const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
          if (out.status !== 'RUNNING') return out;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error(`execution ${executionArn} still running after 2000 polls`);
      },
      async download(fileId) {
        return sha1OfStream(await boxClient.files.downloadFile(fileId));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
