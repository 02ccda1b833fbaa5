// `s3-to-box sync s3://BUCKET/PREFIX --folder ID --report s3://BUCKET/PREFIX`: the bulk state machine run
// locally against any S3 and any Box, with a live count of objects and bytes.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { depsFromEnv, s3ConfigFromEnv } from '../../functions/deps.ts';
import type { HandlerDeps } from '../../functions/deps.ts';
import type { ManifestFormat, ObjectResult, SkipRule, SyncInput, SyncLayout, SyncSummary } from '../../src/bulk/contract.ts';
import type { OnConflict } from '../../src/transfer/contract.ts';
import { createJsonLogger } from '../../src/transfer/logger.ts';
import { validateSyncInput } from '../../src/bulk/input.ts';
import { reportKeysOf } from '../../src/bulk/report.ts';
import { startSync } from '../runner/bulk.ts';
import type { SyncEvent } from '../runner/bulk.ts';
import { formatBytes } from './progress.ts';
import { cliLogWrite, EXIT_STATUS, exitStatusForError } from './exit-status.ts';
import { describeError } from './run.ts';
import { requireAwsCredentials } from './aws-credentials.ts';
import { requireEndpointsListening } from './endpoints.ts';
import { lambdaEnvFor } from './transfer.ts';
import type { S3AndBoxOptions } from './transfer.ts';
import { withLeanReads } from '../../src/transfer/leanGet.ts';

export interface SyncCommandOptions extends S3AndBoxOptions {
  folder: string;
  report: { bucket: string; key: string };
  layout: SyncLayout;
  skip: SkipRule;
  onConflict: OnConflict;
  manifest?: { bucket: string; key: string };
  manifestFormat?: ManifestFormat;
  objectsInFlight?: number;
  uploadsPerMinute?: number;
  objectsPerBatch?: number;
  toleratedFailures?: number;
  concurrency?: number;
  dryRun?: boolean;
}

/** The exit statuses (README "The command line"): 0 done, 1 failed, 2 bad input, 4 some objects failed. */
const EXIT = { ok: EXIT_STATUS.done, failed: EXIT_STATUS.failed, badInput: EXIT_STATUS.usage, someFailed: EXIT_STATUS.someFailed } as const;

/** The manifest's format from --manifest-format, else from its name (.jsonl, .csv, manifest.json). */
export function manifestFormatOf(key: string, given?: ManifestFormat): ManifestFormat {
  if (given !== undefined) return given;
  if (/\.jsonl?$/i.test(key) && !/manifest\.json$/i.test(key)) return 'jsonl';
  if (/\.csv$/i.test(key)) return 'csv';
  if (/manifest\.json$/i.test(key)) return 'inventory';
  throw new Error(`cannot tell the format of the manifest ${key}: give --manifest-format jsonl|csv|inventory`);
}

export function syncInputFor(source: { bucket: string; key: string }, opts: SyncCommandOptions): SyncInput {
  const options: NonNullable<SyncInput['options']> = {
    ...(opts.objectsInFlight !== undefined ? { objectsInFlight: opts.objectsInFlight } : {}),
    ...(opts.uploadsPerMinute !== undefined ? { uploadsPerMinute: opts.uploadsPerMinute } : {}),
    ...(opts.objectsPerBatch !== undefined ? { objectsPerBatch: opts.objectsPerBatch } : {}),
    ...(opts.toleratedFailures !== undefined ? { toleratedFailurePercentage: opts.toleratedFailures } : {}),
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
  };
  return {
    source: opts.manifest
      ? { bucket: source.bucket, manifest: { bucket: opts.manifest.bucket, key: opts.manifest.key, format: manifestFormatOf(opts.manifest.key, opts.manifestFormat) } }
      : { bucket: source.bucket, prefix: source.key },
    destination: { folderId: opts.folder },
    layout: opts.layout,
    skip: opts.skip,
    onConflict: opts.onConflict,
    report: { bucket: opts.report.bucket, prefix: opts.report.key },
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
}

/** Counts for the live line. */
export class SyncProgress {
  total: number | undefined;
  totalBytes = 0;
  copied = 0;
  skipped = 0;
  failed = 0;
  bytes = 0;
  readonly started = Date.now();
  #partBytes = 0;

  on(e: SyncEvent): void {
    if (e.type === 'listed') {
      this.total = e.objects;
      this.totalBytes = e.bytes;
    } else if (e.type === 'bytes') this.#partBytes += e.bytes;
    else if (e.type === 'objects') {
      for (const r of e.results) {
        if (r.outcome === 'copied' || r.outcome === 'would-copy') {
          this.copied++;
          this.bytes += r.bytes;
        } else if (r.outcome === 'failed') this.failed++;
        else this.skipped++;
      }
      // Parts already counted as they went are part of the objects now counted whole.
      this.#partBytes = 0;
    }
  }

  line(now = Date.now()): string {
    const done = this.copied + this.skipped + this.failed;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const moved = this.bytes + this.#partBytes;
    const of = this.total === undefined ? 'listing' : `of ${this.total}`;
    return (
      `${done} ${of} objects: ${this.copied} copied, ${this.skipped} skipped, ${this.failed} failed; ` +
      `${formatBytes(moved)}${this.totalBytes > 0 ? ` of ${formatBytes(this.totalBytes)}` : ''}, ${(moved / 2 ** 20 / seconds).toFixed(1)} MiB/s`
    );
  }
}

async function readReport(s3: S3Client, summary: SyncSummary): Promise<ObjectResult[]> {
  const res = await s3.send(new GetObjectCommand({ Bucket: summary.report.bucket, Key: summary.report.key }));
  const text = (await res.Body?.transformToString('utf8')) ?? '';
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ObjectResult);
}

/** summary.json of a run, beside its report (`<report prefix><execution name>/`). */
async function readSummary(s3: S3Client, report: SyncInput['report'], executionName: string): Promise<SyncSummary> {
  const res = await s3.send(new GetObjectCommand({ Bucket: report.bucket, Key: reportKeysOf(`${report.prefix ?? ''}${executionName}`).summary }));
  return JSON.parse((await res.Body?.transformToString('utf8')) ?? 'null') as SyncSummary;
}

export async function runSyncCommand(source: { bucket: string; key: string }, opts: SyncCommandOptions): Promise<number> {
  let input: SyncInput;
  try {
    // What PlanSync refuses before it reads anything (a bad field, a report inside the source), refused here
    // with its own error before the runner starts: one clear line, exit 2.
    input = validateSyncInput(syncInputFor(source, opts));
  } catch (err) {
    process.stderr.write(`Sync failed: ${describeError(err)}\n`);
    return exitStatusForError(err instanceof Error ? err.name : 'Error');
  }
  const env = lambdaEnvFor(opts);
  const quiet = opts.quiet === true || opts.json === true;
  const tty = process.stderr.isTTY === true;
  const progress = new SyncProgress();
  let lastLine = 0;
  const draw = (force = false): void => {
    if (quiet) return;
    const now = Date.now();
    if (!force && now - lastLine < (tty ? 200 : 5000)) return;
    lastLine = now;
    process.stderr.write(tty ? `\r\x1b[2K${progress.line(now)}` : `${progress.line(now)}\n`);
  };
  const logger = createJsonLogger({
    level: opts.verbose ? 'info' : 'warn',
    write: cliLogWrite((line) => process.stderr.write(`${tty && !quiet ? '\r\x1b[2K' : ''}${line}\n`), opts.verbose === true, 'PlanSync'),
  });
  const s3 = withLeanReads(new S3Client(s3ConfigFromEnv({ ...env, AWS_REGION: env.AWS_REGION ?? 'us-east-1' })));
  let fromEnv: HandlerDeps;
  try {
    // The Lambdas' dependencies as in AWS: a malformed TRANSFER_* variable is refused here, with its name.
    fromEnv = depsFromEnv(env, { logger, s3 });
    await requireAwsCredentials(s3, `list s3://${source.bucket}/${source.key} and write the report`);
    await requireEndpointsListening(env);
  } catch (err) {
    s3.destroy();
    process.stderr.write(`Sync failed: ${describeError(err)}\n`);
    return exitStatusForError(err instanceof Error ? err.name : 'Error');
  }
  let boxClient: { close?: () => Promise<void> } | undefined;
  const deps: HandlerDeps = {
    ...fromEnv,
    box: async () => {
      const client = await fromEnv.box();
      boxClient = client as { close?: () => Promise<void> };
      return client;
    },
  };
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = quiet ? undefined : setInterval(() => draw(), tty ? 250 : 5000);
  let executionName: string | undefined;
  try {
    const run = startSync(input, {
      deps,
      signal: controller.signal,
      onEvent: (e) => {
        progress.on(e);
        draw();
      },
    });
    executionName = run.executionName;
    const summary = await run.result;
    draw(true);
    if (!quiet) process.stderr.write('\n');
    const results = opts.json || opts.dryRun ? await readReport(s3, summary) : [];
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ summary, results }, null, 2)}\n`);
    } else {
      if (opts.dryRun) {
        for (const r of results) process.stdout.write(`${r.outcome.padEnd(10)} ${r.key} -> ${r.path === '' ? '.' : r.path}${r.reason ? ` (${r.reason})` : ''}\n`);
      }
      process.stdout.write(
        `${opts.dryRun ? 'Dry run' : 'Done'}: ${summary.objects} objects, ${summary.copied} ${opts.dryRun ? 'to copy' : 'copied'} ` +
          `(${formatBytes(summary.bytesCopied)}), ${summary.skipped} skipped, ${summary.failed} failed; ` +
          `report s3://${summary.report.bucket}/${summary.report.key}\n`,
      );
    }
    return summary.failed > 0 ? EXIT.someFailed : EXIT.ok;
  } catch (err) {
    if (!quiet) process.stderr.write('\n');
    process.stderr.write(`Sync failed: ${describeError(err)}\n`);
    if ((err as Error).name === 'Transfer.TooManyFailures' && executionName !== undefined) {
      // The run failed past its tolerated failures after writing its report and summary: show them.
      const summary = await readSummary(s3, input.report, executionName).catch(() => undefined);
      if (summary !== undefined) {
        if (opts.json) {
          const results = await readReport(s3, summary);
          process.stdout.write(`${JSON.stringify({ summary, results, error: { name: (err as Error).name, message: (err as Error).message } }, null, 2)}\n`);
        } else {
          process.stdout.write(
            `Stopped: ${summary.objects} objects, ${summary.copied} copied (${formatBytes(summary.bytesCopied)}), ${summary.skipped} skipped, ` +
              `${summary.failed} failed; report s3://${summary.report.bucket}/${summary.report.key}\n`,
          );
        }
      }
      return EXIT.someFailed;
    }
    return exitStatusForError(err instanceof Error ? err.name : 'Error');
  } finally {
    if (timer !== undefined) clearInterval(timer);
    await boxClient?.close?.().catch(() => undefined);
    s3.destroy();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
