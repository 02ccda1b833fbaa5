// One uploader of the bulk bench in its own process (bench/bulk.ts keeps s3rver and the emulator in its
// own): the official SDK one by one, or `s3-to-box sync` (the bulk state machine through the local runner,
// built as the CLI builds it). Modules are loaded and clients built before the clock starts; the clock and
// this process's CPU time cover the uploads only.
//   node bench/bulk-child.ts '<job as JSON>'   ->   the last stdout line is the result as JSON
import type { Readable } from 'node:stream';

export interface BulkTarget {
  s3Endpoint: string;
  apiUrl: string;
  uploadUrl: string;
  token: string;
  bucket: string;
  reportBucket: string;
}

export type BulkJob =
  | { kind: 'sdk'; target: BulkTarget; keys: string[]; size: number; folderId: string }
  | {
      kind: 'sync';
      target: BulkTarget;
      prefix: string;
      folderId: string;
      reportPrefix: string;
      options: { uploadsPerMinute: number; objectsInFlight: number; objectsPerBatch?: number };
    };

export interface BulkJobResult {
  seconds: number;
  /** This process's CPU time (user + system) during the uploads. */
  cpuSeconds: number;
  objects: number;
  /** Objects the sync copied / failed (the SDK: every object copied). */
  copied: number;
  failed: number;
}

async function measured(operation: () => Promise<{ objects: number; copied: number; failed: number }>): Promise<BulkJobResult> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const counts = await operation();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, ...counts };
}

/** The SDK, one object after the other, as a user would write it: GetObject, then uploadFile (small) or uploadBigFile (chunked). */
async function sdkOneByOne(job: Extract<BulkJob, { kind: 'sdk' }>): Promise<BulkJobResult> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const { localS3Client } = await import('../local/runner/local-s3-client.ts');
  const { sdkClient } = await import('./sdk.ts');
  const s3 = localS3Client(job.target.s3Endpoint);
  const sdk = sdkClient({ apiUrl: job.target.apiUrl, uploadUrl: job.target.uploadUrl, token: job.target.token });
  try {
    return await measured(async () => {
      for (const key of job.keys) {
        const body = (await s3.send(new GetObjectCommand({ Bucket: job.target.bucket, Key: key }))).Body as Readable;
        const name = key.slice(key.lastIndexOf('/') + 1);
        if (job.size < 20_000_000) await sdk.uploads.uploadFile({ attributes: { name, parent: { id: job.folderId } }, file: body });
        else await sdk.chunkedUploads.uploadBigFile(body, name, job.size, job.folderId);
      }
      return { objects: job.keys.length, copied: job.keys.length, failed: 0 };
    });
  } finally {
    s3.destroy();
  }
}

/** `s3-to-box sync` as the CLI runs it: deps from the same environment variables, a quiet logger. */
async function sync(job: Extract<BulkJob, { kind: 'sync' }>): Promise<BulkJobResult> {
  const { depsFromEnv } = await import('../functions/deps.ts');
  const { localS3Client } = await import('../local/runner/local-s3-client.ts');
  const { startSync } = await import('../local/runner/bulk.ts');
  const { createJsonLogger } = await import('../src/transfer/logger.ts');
  const env = { AWS_REGION: 'us-east-1', BOX_API_URL: job.target.apiUrl, BOX_UPLOAD_URL: job.target.uploadUrl, BOX_DEVELOPER_TOKEN: job.target.token };
  const s3 = localS3Client(job.target.s3Endpoint);
  // The CLI's logger at its default level (warnings) without --verbose.
  const deps = depsFromEnv(env, { s3, logger: createJsonLogger({ level: 'warn', write: (line) => process.stderr.write(`${line}\n`) }) });
  const box = await deps.box();
  try {
    return await measured(async () => {
      const run = startSync(
        {
          source: { bucket: job.target.bucket, prefix: job.prefix },
          destination: { folderId: job.folderId },
          report: { bucket: job.target.reportBucket, prefix: job.reportPrefix },
          options: job.options,
        },
        { deps },
      );
      const summary = await run.result;
      return { objects: summary.objects, copied: summary.copied, failed: summary.failed };
    });
  } finally {
    await (box as { close?: () => Promise<void> }).close?.();
    s3.destroy();
  }
}

const job = JSON.parse(process.argv[2] ?? '{}') as BulkJob;
const result = job.kind === 'sdk' ? await sdkOneByOne(job) : await sync(job);
process.stdout.write(`${JSON.stringify(result)}\n`);
