// Shared by `transfer` and `demo`: run one transfer through the local runner with a live display,
// and turn the outcome into an exit code and a readable message.
import { S3Client } from '@aws-sdk/client-s3';
import { depsFromEnv, s3ConfigFromEnv } from '../../functions/deps.ts';
import type { HandlerDeps } from '../../functions/deps.ts';
import type { CommitWaitReason, ResumeRef, TransferInput, TransferOutput } from '../../src/transfer/contract.ts';
import { defaultFileName, validateTransferInput } from '../../src/transfer/input.ts';
import { createJsonLogger } from '../../src/transfer/logger.ts';
import type { LogLevel } from '../../src/transfer/logger.ts';
import type { TransferProgressEvent } from '../../src/transfer/deps.ts';
import { readDefinitionFile } from '../runner/definition.ts';
import { startTransfer } from '../runner/transfer.ts';
import { TransferAbortedError } from '../runner/execution.ts';
import type { TransferEvent } from '../runner/execution.ts';
import { storedPartsOf } from '../../src/transfer/resume.ts';
import { requireAwsCredentials } from './aws-credentials.ts';
import { requireEndpointsListening } from './endpoints.ts';
import { cliLogWrite } from './exit-status.ts';
import { TransferStoppedError } from './failure.ts';
import { createProgressDisplay, formatBytes } from './progress.ts';
import type { ProgressDisplay, ProgressUpdate } from './progress.ts';
import { withLeanReads } from '../../src/transfer/leanGet.ts';

export interface RunOptions {
  /** Environment the Lambdas see (BOX_*, S3_ENDPOINT, AWS_REGION), as in AWS. */
  env: Record<string, string | undefined>;
  /** S3 client for the Lambdas; default: from `env` and the usual AWS credential chain. */
  s3?: S3Client;
  quiet?: boolean;
  verbose?: boolean;
}

/** The top-level states of the definition: the state line shows these, not the branches inside the Parallel. */
export function topLevelStates(): Set<string> {
  return new Set(Object.keys(readDefinitionFile()['States'] as Record<string, unknown>));
}

/**
 * Turns what the runner and the handlers report into display updates. Parts are counted from the
 * handlers' per-part progress, once per offset (a retried batch re-reports parts it already sent).
 */
export class ProgressFeed {
  readonly #partsSeen = new Set<number>();
  readonly #topLevel: Set<string>;

  constructor(topLevel: Set<string> = topLevelStates()) {
    this.#topLevel = topLevel;
  }

  fromRunner(e: TransferEvent): ProgressUpdate[] {
    switch (e.type) {
      case 'prepared': {
        const plan: ProgressUpdate = { kind: 'plan', mode: e.mode, totalBytes: e.size, totalParts: e.totalParts, partSize: e.partSize };
        if (e.storedParts === undefined) return [plan];
        // A resumed session: the parts Box holds are done already (those in batches that still run are
        // reported again by UploadBatch, and counted once by offset).
        let bytes = 0;
        const stored = storedIndices(e.storedParts, e.totalParts);
        for (const index of stored) {
          const offset = index * e.partSize;
          this.#partsSeen.add(offset);
          bytes += Math.min(e.partSize, e.size - offset);
        }
        return [plan, { kind: 'parts', parts: stored.length, bytes }];
      }
      case 'hash-progress':
        return [{ kind: 'hash', offset: e.bytes }];
      case 'commit-wait':
        return [{ kind: 'commit-wait', seconds: e.seconds, attempts: e.attempts }];
      case 'state-entered':
        return this.#topLevel.has(e.state) ? [{ kind: 'state', name: e.state }] : [];
      default:
        return [];
    }
  }

  fromHandlers(e: TransferProgressEvent): ProgressUpdate | undefined {
    if (e.type === 'hashed') return { kind: 'hash', offset: e.offset };
    if (this.#partsSeen.has(e.offset)) return undefined;
    this.#partsSeen.add(e.offset);
    return { kind: 'parts', parts: 1, bytes: e.size };
  }
}

/** The part indices marked in a stored-parts bitmap (TransferContext.storedParts). */
function storedIndices(bitmap: string, totalParts: number): number[] {
  const stored = storedPartsOf(bitmap);
  return Array.from({ length: totalParts }, (_, i) => i).filter(stored);
}

/** What the CLI says while a commit waits, by why it waits. */
const COMMIT_WAIT_NOTES: Readonly<Record<CommitWaitReason, string>> = {
  'box-processing': 'Box is still processing the file',
  'parts-mismatch': 'Box does not list every stored part yet (400 parts_mismatch)',
  throttled: 'the commit was throttled (Box 429 or S3 SlowDown), nothing committed',
};

function noteFor(e: TransferEvent): string | undefined {
  switch (e.type) {
    case 'state-retried':
      return `retrying ${e.state} (attempt ${e.attempt})`;
    case 'commit-wait':
      return `${COMMIT_WAIT_NOTES[e.reason]}: commit again in ${e.seconds}s (try ${e.attempts})`;
    case 'session-aborted':
      return e.aborted ? 'Box upload session aborted' : `Box upload session not aborted: ${e.reason ?? 'unknown'}`;
    case 'prepared':
      return e.mode === 'direct'
        ? `direct upload of ${formatBytes(e.size)}`
        : `chunked upload of ${formatBytes(e.size)}: ${e.totalParts} parts of ${formatBytes(e.partSize)}, ` +
            `${e.batches} batches, ${e.concurrency} parts in flight` +
            (e.storedParts !== undefined ? `; resuming Box session ${e.resume?.sessionId ?? ''}, ${storedIndices(e.storedParts, e.totalParts).length} parts already stored` : '');
    default:
      return undefined;
  }
}

/**
 * What Prepare refuses before it reads anything (the input schema, a key without a usable file name), with
 * Prepare's own Transfer.InvalidInput and message: refused here, once, before the runner and the display
 * start, instead of after a Lambda's error log line and an empty progress line.
 */
function refuseInvalidInput(input: TransferInput): void {
  const valid = validateTransferInput(input);
  if (valid.resume?.fileName === undefined && valid.destination.fileName === undefined) defaultFileName(valid.source.key);
}

export async function runWithProgress(input: TransferInput, opts: RunOptions): Promise<TransferOutput> {
  refuseInvalidInput(input);
  const display: ProgressDisplay = createProgressDisplay({ quiet: opts.quiet ?? false });
  const level: LogLevel = opts.verbose ? 'info' : 'warn';
  const logger = createJsonLogger({ level, write: cliLogWrite((line) => display.log(line), opts.verbose === true, 'Prepare') });
  const s3 = opts.s3 ?? withLeanReads(new S3Client(s3ConfigFromEnv({ ...opts.env, AWS_REGION: opts.env.AWS_REGION ?? 'us-east-1' })));
  if (!opts.s3) {
    try {
      await requireAwsCredentials(s3, `read s3://${input.source.bucket}/${input.source.key}`);
      await requireEndpointsListening(opts.env);
    } catch (err) {
      s3.destroy();
      throw err;
    }
  }
  // The Lambdas' dependencies as in AWS, logging (Box client included) through the display.
  const fromEnv = depsFromEnv(opts.env, { logger, s3 });
  // Remember the Box client once the Lambdas built one, to close its keep-alive pool at the end.
  let boxClient: { close?: () => Promise<void>; destroy?: () => Promise<void> } | undefined;
  const box: HandlerDeps['box'] = async () => {
    const client = await fromEnv.box();
    boxClient = client as { close?: () => Promise<void>; destroy?: () => Promise<void> };
    return client;
  };
  const feed = new ProgressFeed();
  const show = (updates: ProgressUpdate[] | ProgressUpdate | undefined) => {
    for (const u of [updates ?? []].flat()) display.update(u);
  };
  const deps: HandlerDeps = { ...fromEnv, box, onProgress: (e) => show(feed.fromHandlers(e)) };
  // Ctrl-C (or SIGTERM) stops the local execution and, unlike StopExecution in AWS (which aborts it), keeps the Box session for a resume.
  // A second Ctrl-C ends the process at once (the handlers are registered once).
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let resume: ResumeRef | undefined;
  try {
    const execution = startTransfer(input, {
      deps,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'prepared') resume = e.resume;
        show(feed.fromRunner(e));
        const note = noteFor(e);
        if (note && !opts.quiet) display.log(note);
      },
    });
    try {
      return await execution.result;
    } catch (err) {
      if (err instanceof TransferAbortedError && controller.signal.aborted) {
        if (resume === undefined) {
          // Stopped before Prepare reported a session: nothing else runs yet, and a Prepare still creating
          // the session would leave it unreported. Let Prepare end (as a Lambda would), so that the session
          // is kept and printed. Parts in flight are not waited for: the resume lists what Box holds.
          display.stop();
          process.stderr.write('Stopping: waiting for Prepare, still running, to end (Ctrl-C again quits at once)\n');
          await execution.idle;
        }
        throw new TransferStoppedError(input, resume);
      }
      throw err;
    }
  } finally {
    display.stop();
    // Let the process exit promptly: close the Box client's keep-alive pool if one was built. After a
    // stop, the requests of the steps left running are not waited for (a resume lists what Box holds).
    const ending = controller.signal.aborted && boxClient?.destroy !== undefined ? boxClient.destroy() : boxClient?.close?.();
    await ending?.catch(() => undefined);
    if (!opts.s3) s3.destroy();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** "Transfer.NameConflict: ..." for any thrown value, never a stack unless asked. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
