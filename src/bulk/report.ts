// Summarize: the bulk run's last step. Reads what the Distributed Map's ResultWriter wrote (manifest.json,
// then SUCCEEDED_n.json: each child's output, FAILED_n.json: children that failed as a whole, with their
// input batch), writes the report (report.jsonl: one line per object, failures with their failure
// document) and summary.json beside it, and returns the counts; more failed objects than the run
// tolerates fail it (Transfer.TooManyFailures) once the report is written.
//
// Memory stays bounded whatever the run's size: each result file is read as a stream of its array's
// elements (one child execution at a time), and the report goes out as a multipart upload of 8 MiB parts
// while it is written. Nothing holds every object's result.
//
// Every S3 request (and every body read) runs inside the invocation's request budget (src/box/budget.ts):
// it is cut with Transfer.Deadline before the Lambda's timeout, and the state machine runs the summary
// again from the start.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { text as readText } from 'node:stream/consumers';
import { outsideRequestBudget } from '../box/budget.ts';
import { cutAtRequestBudget, withinRequestBudget } from '../transfer/request-budget.ts';
import type { TransferDeps } from '../transfer/deps.ts';
import { TransferError } from '../transfer/errors.ts';
import type { BatchOutput, ObjectResult, SyncBatchEvent, SyncPlan, SyncSummary } from './contract.ts';
import { failureOf, nestedFailure, oneObjectInput } from './failure.ts';
import { decodeInventoryKey, normalizeItem } from './items.ts';
import { nestedOutcome, STOPPED_BY_RUN } from './nested.ts';
import type { NestedTransfers } from './nested.ts';

/**
 * More objects failed than `options.toleratedFailurePercentage` allows (or the Distributed Map stopped at
 * that threshold): the run fails with this error after its report is written (the message says where).
 */
class TooManyFailuresError extends TransferError {
  override name = 'Transfer.TooManyFailures';
}

/** The Distributed Map's output when it has a ResultWriter. */
export interface MapRunResult {
  MapRunArn?: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

/** What the Summarize states pass: the plan's parts it needs, and the Map's result or its failure. */
export interface SummarizeEvent {
  plan: Pick<SyncPlan, 'results' | 'batchInput'> & { toleratedFailurePercentage?: number };
  /** The Map's result (Summarize). */
  mapRun?: MapRunResult;
  /** The Map's error (SummarizeFailedRun: States.ExceedToleratedFailureThreshold). */
  mapFailure?: { Error?: string; Cause?: string };
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

/** One S3 request inside the invocation's request budget. */
function budgeted<T>(what: string, send: (abortSignal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  return withinRequestBudget(what, undefined, send);
}

/** An object's body, read inside the invocation's request budget. */
async function objectBody(s3: S3Client, bucket: string, key: string): Promise<Readable | undefined> {
  const what = `GetObject s3://${bucket}/${key}`;
  const res = await budgeted(what, (abortSignal) => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }));
  return res.Body === undefined ? undefined : cutAtRequestBudget(res.Body as Readable, what);
}

async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const body = await objectBody(s3, bucket, key);
  const json = body === undefined ? '' : await readText(body);
  return JSON.parse(json === '' ? 'null' : json) as T;
}

/**
 * The elements of a JSON array read from a stream of bytes, one at a time: only the element being read
 * is held (a ResultWriter file may hold thousands of child executions). The elements must be objects or
 * arrays, as a ResultWriter file's are.
 */
async function* jsonArrayElements(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let started = false;
  let ended = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let carry = '';
  const bad = (what: string): Error => new SyntaxError(`not a JSON array of objects: ${what}`);
  const scan = function* (text: string): Generator<unknown> {
    let from = depth > 0 ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
        continue;
      }
      if (c === 0x22) {
        if (depth === 0) throw bad('a string at the top of the array');
        inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        if (!started) {
          if (c !== 0x5b) throw bad('it does not start with [');
          started = true;
          continue;
        }
        if (ended) throw bad('something after the array');
        if (depth === 0) from = i;
        depth++;
      } else if (c === 0x7d || c === 0x5d) {
        if (depth === 0) {
          if (c !== 0x5d || !started || ended) throw bad('an unbalanced bracket');
          ended = true;
          continue;
        }
        depth--;
        if (depth === 0) {
          const element = carry + text.slice(from, i + 1);
          carry = '';
          from = -1;
          yield JSON.parse(element) as unknown;
        }
      } else if (depth === 0 && c !== 0x2c && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        throw bad(`an unexpected character ${JSON.stringify(text[i])} between elements`);
      }
    }
    if (depth > 0) carry += text.slice(Math.max(from, 0));
  };
  for await (const chunk of chunks) {
    yield* scan(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  yield* scan(decoder.decode());
  if (!started || !ended) throw bad('it ends before its closing ]');
}

async function* resultFileElements(s3: S3Client, bucket: string, key: string): AsyncGenerator<ChildExecutionResult> {
  const body = (await objectBody(s3, bucket, key)) as AsyncIterable<Uint8Array> | undefined;
  if (body === undefined) return;
  for await (const element of jsonArrayElements(body)) yield element as ChildExecutionResult;
}

/** Every object's result from the ResultWriter's files, one at a time. */
async function* mapResults(s3: S3Client, bucket: string, manifestKey: string, nested?: NestedTransfers): AsyncGenerator<ObjectResult> {
  const manifest = await readJson<ResultManifest>(s3, bucket, manifestKey);
  for (const file of manifest.ResultFiles.SUCCEEDED ?? []) {
    for await (const child of resultFileElements(s3, bucket, file.Key)) {
      const output = JSON.parse(child.Output ?? '{"results":[]}') as BatchOutput;
      yield* output.results;
    }
  }
  for (const status of ['FAILED', 'PENDING'] as const) {
    for (const file of manifest.ResultFiles[status] ?? []) {
      for await (const child of resultFileElements(s3, bucket, file.Key)) {
        const batch = JSON.parse(child.Input ?? '{"Items":[]}') as SyncBatchEvent;
        const error =
          status === 'FAILED'
            ? { Error: child.Error ?? 'States.TaskFailed', Cause: child.Cause ?? '' }
            : { Error: 'States.Cancelled', Cause: 'the run ended before this batch ran' };
        const run = batch.BatchInput.run;
        // A child the run's end stopped may have handed objects to nested transfers: they say what became of them.
        const stoppedChild = status === 'FAILED' && (child.Status === 'ABORTED' || child.Status === 'TIMED_OUT');
        for (const item of batch.Items) {
          let key = '';
          let bytes = 0;
          let input;
          try {
            const listed = normalizeItem(item);
            key = run.reader === 'inventory' ? decodeInventoryKey(listed.key) : listed.key;
            bytes = listed.size ?? 0;
            // The object alone through the one-object transfer, into the folders the run would have used.
            input = oneObjectInput(run, key, listed.versionId);
          } catch (err) {
            yield { key, outcome: 'failed', bytes, path: '', failure: failureOf(err) };
            continue;
          }
          const outcome = stoppedChild && nested !== undefined && input !== undefined ? await nestedOutcome(nested, run.runId, key) : undefined;
          if (outcome?.status === 'SUCCEEDED') {
            const path = input?.destination.folderPath !== undefined ? `${input.destination.folderPath}/${outcome.output.file.name}` : outcome.output.file.name;
            yield { key, outcome: 'copied', bytes, path, fileId: outcome.output.file.id, sha1: outcome.output.file.sha1 };
            continue;
          }
          const failure =
            outcome !== undefined
              ? outcome.failure
              : stoppedChild && nested !== undefined
                ? {
                    error: {
                      name: STOPPED_BY_RUN,
                      message: `the bulk run ended (its Map Run failed past the tolerated failures, or the run was stopped or timed out) before this object's batch finished; it may have been copied just before: run the sync again (it skips what Box holds), or copy it alone with input`,
                    },
                    resumable: false,
                  }
                : nestedFailure(error);
          yield { key, outcome: 'failed', bytes, path: '', failure, ...(input !== undefined ? { input } : {}) };
        }
      }
    }
  }
}

/** S3's smallest multipart part (but the last) is 5 MiB; 8 MiB keeps a 10,000-part report up to 78 GiB. */
const REPORT_PART_BYTES = 8 * 1024 * 1024;

/** The longest wait for dropping an unfinished report (well inside the request budget's 5 s finish margin). */
const ABORT_MS = 2_000;

/** Writes an object line by line: one PutObject when it stays below one part, else a multipart upload. */
class StreamingObjectWriter {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #key: string;
  readonly #contentType: string;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #uploadId: string | undefined;
  readonly #parts: Array<{ ETag: string | undefined; PartNumber: number }> = [];
  bytes = 0;

  constructor(s3: S3Client, bucket: string, key: string, contentType: string) {
    this.#s3 = s3;
    this.#bucket = bucket;
    this.#key = key;
    this.#contentType = contentType;
  }

  async write(text: string): Promise<void> {
    const buf = Buffer.from(text, 'utf8');
    this.#pending.push(buf);
    this.#pendingBytes += buf.length;
    this.bytes += buf.length;
    if (this.#pendingBytes >= REPORT_PART_BYTES) await this.#flushPart();
  }

  async #flushPart(): Promise<void> {
    const body = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#uploadId ??= (
      await budgeted(`CreateMultipartUpload ${this.#where}`, (abortSignal) =>
        this.#s3.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key, ContentType: this.#contentType }), { abortSignal }),
      )
    ).UploadId;
    const PartNumber = this.#parts.length + 1;
    const uploadId = this.#uploadId;
    const res = await budgeted(`UploadPart ${this.#where}`, (abortSignal) =>
      this.#s3.send(new UploadPartCommand({ Bucket: this.#bucket, Key: this.#key, UploadId: uploadId, PartNumber, Body: body }), { abortSignal }),
    );
    this.#parts.push({ ETag: res.ETag, PartNumber });
  }

  async close(): Promise<void> {
    if (this.#uploadId === undefined) {
      const body = Buffer.concat(this.#pending, this.#pendingBytes);
      await budgeted(`PutObject ${this.#where}`, (abortSignal) =>
        this.#s3.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key, Body: body, ContentType: this.#contentType }), { abortSignal }),
      );
      return;
    }
    if (this.#pendingBytes > 0) await this.#flushPart();
    const uploadId = this.#uploadId;
    await budgeted(`CompleteMultipartUpload ${this.#where}`, (abortSignal) =>
      this.#s3.send(new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key, UploadId: uploadId, MultipartUpload: { Parts: this.#parts } }), { abortSignal }),
    );
  }

  /**
   * Drops what was uploaded of an unfinished object (best effort). Also after the budget is spent: it has
   * the budget's finish margin, and at most ABORT_MS of it, so that no part is left stored.
   */
  async abort(): Promise<void> {
    if (this.#uploadId === undefined) return;
    const command = new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key, UploadId: this.#uploadId });
    await outsideRequestBudget(() => this.#s3.send(command, { abortSignal: AbortSignal.timeout(ABORT_MS) })).catch(() => undefined);
  }

  get #where(): string {
    return `s3://${this.#bucket}/${this.#key}`;
  }
}

/** The counts of a run, added up one object at a time. */
class SummaryTally {
  objects = 0;
  copied = 0;
  skipped = 0;
  failed = 0;
  bytesCopied = 0;
  bytesTotal = 0;

  add(r: ObjectResult): void {
    this.objects++;
    this.bytesTotal += r.bytes;
    if (r.outcome === 'copied' || r.outcome === 'would-copy') {
      this.copied++;
      this.bytesCopied += r.bytes;
    } else if (r.outcome === 'skipped' || r.outcome === 'would-skip') this.skipped++;
    else if (r.outcome === 'failed') this.failed++;
  }

  summary(plan: SummarizeEvent['plan'], reportKey: string, manifestKey: string): SyncSummary {
    return {
      objects: this.objects,
      copied: this.copied,
      skipped: this.skipped,
      failed: this.failed,
      bytesCopied: this.bytesCopied,
      bytesTotal: this.bytesTotal,
      dryRun: plan.batchInput.dryRun,
      report: { bucket: plan.results.bucket, key: reportKey },
      results: { bucket: plan.results.bucket, key: manifestKey },
    };
  }
}

/** Where a run's report and summary go (results.prefix is `<report prefix><execution name>`). */
export function reportKeysOf(resultsPrefix: string): { report: string; summary: string } {
  return { report: `${resultsPrefix}/report.jsonl`, summary: `${resultsPrefix}/summary.json` };
}

/** The ResultWriter's manifest.json under the run's results prefix (after a failed Map run, whose error does not name it). */
async function findManifest(s3: S3Client, bucket: string, resultsPrefix: string): Promise<string | undefined> {
  let token: string | undefined;
  do {
    const page = await budgeted(`ListObjectsV2 s3://${bucket}/${resultsPrefix}/`, (abortSignal) =>
      s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${resultsPrefix}/`, ContinuationToken: token }), { abortSignal }),
    );
    const hit = page.Contents?.find((o) => o.Key?.endsWith('/manifest.json'));
    if (hit?.Key !== undefined) return hit.Key;
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return undefined;
}

export async function summarizeSync(event: SummarizeEvent, deps: Pick<TransferDeps, 's3' | 'logger'>, nested?: NestedTransfers): Promise<SyncSummary> {
  const { plan } = event;
  const bucket = plan.results.bucket;
  const keys = reportKeysOf(plan.results.prefix);
  const manifestKey = event.mapRun !== undefined ? event.mapRun.ResultWriterDetails.Key : await findManifest(deps.s3, bucket, plan.results.prefix);
  const manifestBucket = event.mapRun?.ResultWriterDetails.Bucket ?? bucket;
  const tally = new SummaryTally();
  const report = new StreamingObjectWriter(deps.s3, bucket, keys.report, 'application/x-ndjson');
  try {
    if (manifestKey !== undefined) {
      for await (const r of mapResults(deps.s3, manifestBucket, manifestKey, nested)) {
        tally.add(r);
        await report.write(`${JSON.stringify(r)}\n`);
      }
    }
    await report.close();
  } catch (err) {
    await report.abort();
    throw err;
  }
  const summary = tally.summary(plan, keys.report, manifestKey ?? '');
  await budgeted(`PutObject s3://${bucket}/${keys.summary}`, (abortSignal) =>
    deps.s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.summary, Body: JSON.stringify(summary), ContentType: 'application/json' }), { abortSignal }),
  );
  deps.logger.info('sync summarized', { ...summary });

  const where = `report s3://${bucket}/${keys.report}`;
  if (event.mapFailure !== undefined) {
    throw new TooManyFailuresError(
      `the run stopped: ${event.mapFailure.Error ?? 'the Distributed Map failed'}: ${event.mapFailure.Cause ?? ''} (${summary.failed} of ${summary.objects} objects failed or did not run; ${where})`,
    );
  }
  const tolerated = plan.toleratedFailurePercentage ?? 100;
  const failedPct = summary.objects === 0 ? 0 : (summary.failed / summary.objects) * 100;
  if (summary.failed > 0 && failedPct > tolerated) {
    throw new TooManyFailuresError(
      `${summary.failed} of ${summary.objects} objects failed (${failedPct.toFixed(1)}%), more than the ${tolerated}% the run tolerates; ${where}`,
    );
  }
  return summary;
}
