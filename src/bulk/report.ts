// Summarize: the bulk run's last step. Reads what the Distributed Map's ResultWriter wrote (manifest.json,
// then SUCCEEDED_n.json: each child's output, FAILED_n.json: children that failed as a whole, with their
// input batch), writes the report (report.jsonl: one line per object, failures with their failure
// document) beside it, and returns the counts.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TransferDeps } from '../transfer/deps.ts';
import type { BatchOutput, ObjectResult, SyncBatchEvent, SyncPlan, SyncSummary } from './contract.ts';
import { failureOf, nestedFailure } from './failure.ts';
import { normalizeItem } from './items.ts';

/** The Distributed Map's output when it has a ResultWriter. */
export interface MapRunResult {
  MapRunArn?: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

export interface SummarizeEvent {
  plan: SyncPlan;
  mapRun: MapRunResult;
}

/** manifest.json as the ResultWriter writes it. */
export interface ResultManifest {
  DestinationBucket?: string;
  MapRunArn?: string;
  ResultFiles: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size?: number }>>>;
}

/** One child execution as a ResultWriter file lists it (Input and Output are JSON strings). */
export interface ChildExecutionResult {
  ExecutionArn?: string;
  Input?: string;
  Output?: string;
  Status?: string;
  Error?: string;
  Cause?: string;
}

async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await res.Body?.transformToString('utf8');
  return JSON.parse(text ?? 'null') as T;
}

/** Every object's result from the ResultWriter's files. */
export async function readMapResults(s3: S3Client, bucket: string, manifestKey: string): Promise<ObjectResult[]> {
  const manifest = await readJson<ResultManifest>(s3, bucket, manifestKey);
  const out: ObjectResult[] = [];
  for (const file of manifest.ResultFiles.SUCCEEDED ?? []) {
    for (const child of await readJson<ChildExecutionResult[]>(s3, bucket, file.Key)) {
      const output = JSON.parse(child.Output ?? '{"results":[]}') as BatchOutput;
      out.push(...output.results);
    }
  }
  for (const status of ['FAILED', 'PENDING'] as const) {
    for (const file of manifest.ResultFiles[status] ?? []) {
      for (const child of await readJson<ChildExecutionResult[]>(s3, bucket, file.Key)) {
        const batch = JSON.parse(child.Input ?? '{"Items":[]}') as SyncBatchEvent;
        const error =
          status === 'FAILED'
            ? { Error: child.Error ?? 'States.TaskFailed', Cause: child.Cause ?? '' }
            : { Error: 'States.Cancelled', Cause: 'the run ended before this batch ran' };
        for (const item of batch.Items) {
          let key = '';
          let bytes = 0;
          try {
            const listed = normalizeItem(item);
            key = listed.key;
            bytes = listed.size ?? 0;
          } catch (err) {
            out.push({ key, outcome: 'failed', bytes, path: '', failure: failureOf(err) });
            continue;
          }
          const input = { source: { bucket: batch.BatchInput.run.sourceBucket, key }, destination: { folderId: batch.BatchInput.run.folderId } };
          out.push({ key, outcome: 'failed', bytes, path: '', failure: nestedFailure(error), input });
        }
      }
    }
  }
  return out;
}

export function summarize(results: readonly ObjectResult[], plan: SyncPlan, reportKey: string, manifestKey: string): SyncSummary {
  const count = (...outcomes: string[]): number => results.filter((r) => outcomes.includes(r.outcome)).length;
  return {
    objects: results.length,
    copied: count('copied', 'would-copy'),
    skipped: count('skipped', 'would-skip'),
    failed: count('failed'),
    bytesCopied: results.filter((r) => r.outcome === 'copied' || r.outcome === 'would-copy').reduce((n, r) => n + r.bytes, 0),
    bytesTotal: results.reduce((n, r) => n + r.bytes, 0),
    dryRun: plan.batchInput.dryRun,
    report: { bucket: plan.results.bucket, key: reportKey },
    results: { bucket: plan.results.bucket, key: manifestKey },
  };
}

export async function summarizeSync(event: SummarizeEvent, deps: Pick<TransferDeps, 's3' | 'logger'>): Promise<SyncSummary> {
  const { Bucket, Key } = event.mapRun.ResultWriterDetails;
  const results = await readMapResults(deps.s3, Bucket, Key);
  results.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const reportKey = `${event.plan.results.prefix}/report.jsonl`;
  const body = results.map((r) => JSON.stringify(r)).join('\n') + (results.length > 0 ? '\n' : '');
  await deps.s3.send(new PutObjectCommand({ Bucket: event.plan.results.bucket, Key: reportKey, Body: body, ContentType: 'application/x-ndjson' }));
  const summary = summarize(results, event.plan, reportKey, Key);
  deps.logger.info('sync summarized', { ...summary });
  return summary;
}
