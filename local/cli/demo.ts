// `npm start` / `s3-to-box demo`: the whole pipeline on this machine, with nothing to configure.
// A local S3 (s3rver) and the Box emulator start on free ports, a generated object goes into a local
// bucket, the real state machine moves it into Box, and the file is downloaded back and compared.
import { createHash } from 'node:crypto';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import type { TransferInput } from '../../src/transfer/contract.ts';
import { startBoxEmulator } from '../box-emulator/index.ts';
import { putGeneratedObject, startLocalS3 } from '../runner/index.ts';
import { EXIT_STATUS, exitStatusForError } from './exit-status.ts';
import { failureOf } from './failure.ts';
import { formatBytes } from './progress.ts';
import { runWithProgress } from './run.ts';
import { withBoxToken } from './transfer.ts';

export interface DemoOptions {
  size: number;
  concurrency: number;
  partSize?: number;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

const BUCKET = 's3-to-box-demo';
const KEY = 'exports/quarterly report.bin';

export async function runDemo(opts: DemoOptions): Promise<number> {
  const say = (line: string) => {
    if (!opts.json) process.stderr.write(`${line}\n`);
  };
  const s3 = await startLocalS3({ buckets: [BUCKET] });
  let box: Awaited<ReturnType<typeof startBoxEmulator>> | undefined;
  let client: BoxClient | undefined;
  try {
    // One 202 before the 201 so the demo shows the commit loop waiting on Box's processing.
    box = await startBoxEmulator({
      commitProcessing: { mode: 'count', times: 1, retryAfterSeconds: 1 },
      ...(opts.partSize ? { partSize: opts.partSize } : {}),
    });
    say(`local S3 (s3rver):  ${s3.endpoint}`);
    say(`Box emulator:       ${box.url}  (upload base ${box.uploadUrl})`);
    say(`putting ${formatBytes(opts.size)} of generated data at s3://${BUCKET}/${KEY} ...`);
    const object = await putGeneratedObject(s3.client, { bucket: BUCKET, key: KEY, size: opts.size });

    const input: TransferInput = {
      source: { bucket: BUCKET, key: KEY },
      destination: { folderId: '0' },
      onConflict: 'version',
      options: { concurrency: opts.concurrency },
    };
    say(`transferring with input ${JSON.stringify(input)}`);
    const started = Date.now();
    const output = await runWithProgress(input, {
      env: withBoxToken({ ...process.env, BOX_API_URL: box.url, BOX_UPLOAD_URL: box.uploadUrl }, box.token),
      s3: s3.client,
      quiet: opts.quiet || opts.json === true,
      ...(opts.verbose ? { verbose: true } : {}),
    });
    const seconds = (Date.now() - started) / 1000;

    // Verify over HTTP, as a Box user would: download the file and hash it.
    client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl });
    const downloaded = createHash('sha1');
    let downloadedBytes = 0;
    for await (const chunk of await client.files.downloadFile(output.file.id)) {
      downloaded.update(chunk as Buffer);
      downloadedBytes += (chunk as Buffer).length;
    }
    const downloadedSha1 = downloaded.digest('hex');
    const ok = downloadedSha1 === object.sha1 && output.file.sha1 === object.sha1 && downloadedBytes === opts.size;

    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ...output, verified: ok, sourceSha1: object.sha1, downloadedSha1 }, null, 2)}\n`);
    } else {
      const f = output.file;
      say('');
      say(`Box file ${f.id} "${f.name}" in folder ${f.parentId}: ${f.size} bytes, sha1 ${f.sha1}, version ${f.versionId}`);
      say(`${output.mode} upload, ${output.parts} parts, ${seconds.toFixed(1)} s (${formatBytes(opts.size / Math.max(seconds, 0.001))}/s)`);
      say(
        ok
          ? `verified: downloaded ${formatBytes(downloadedBytes)} from the emulator, sha1 ${downloadedSha1} matches the source`
          : `MISMATCH: source sha1 ${object.sha1}, Box reported ${f.sha1}, downloaded ${downloadedSha1} (${downloadedBytes} bytes)`,
      );
    }
    // A mismatch is a failed transfer (1), not bad usage (2).
    return ok ? EXIT_STATUS.done : EXIT_STATUS.failed;
  } catch (err) {
    // The contract of every command: 2 for bad usage, input or set-up, else 1; with --json, the failure
    // document. Never 3: the session, if any, was in the emulator, which ends with the demo.
    const { error } = failureOf(err);
    if (opts.json) process.stdout.write(`${JSON.stringify({ error, resumable: false }, null, 2)}\n`);
    else process.stderr.write(`Demo failed: ${error.name}: ${error.message}\n`);
    return exitStatusForError(error.name);
  } finally {
    await client?.close();
    await box?.close();
    await s3.close();
  }
}
