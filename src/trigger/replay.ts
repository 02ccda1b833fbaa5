// Replaying the trigger's on-failure queue. EventBridge and S3 invoke startTransfer asynchronously; an
// event whose invocations all failed (StartExecution throttled, unavailable, misconfigured) is sent by
// Lambda, with the error, to the function's on-failure destination: an SQS queue (serverless.yml
// TriggerFailuresQueue). Replaying runs the same trigger core on each queued event's original payload
// and deletes the message once every object of it started (or had already started). Execution names
// come from the event, so replaying an event twice, or one whose objects partly started, starts
// nothing twice. A message that fails again stays in the queue (visible again after its timeout).
//
// No request waits for ever: each SQS request, and each queued event's StartExecution calls, run inside a
// request budget of `requestTimeoutMs` (src/transfer/request-budget.ts). One that gets no answer in that
// time ends the pass (the service is not answering: every later request would wait as long), with the
// reason in `stopped`; the messages not replayed stay in the queue.
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { DeleteMessageCommandOutput, ReceiveMessageCommandOutput } from '@aws-sdk/client-sqs';
import { withRequestBudget } from '../box/budget.ts';
import type { RequestBudget } from '../box/budget.ts';
import { DeadlineError } from '../transfer/errors.ts';
import { errorFields } from '../transfer/logger.ts';
import { timedRequestBudget, withinRequestBudget } from '../transfer/request-budget.ts';
import { triggerEventKind } from './events.ts';
import { startTransfersForS3Event } from './start.ts';
import type { TriggerDeps } from './start.ts';

/**
 * What Lambda sends to an on-failure destination of an asynchronous invocation (Lambda Developer Guide,
 * "Capturing records of asynchronous invocations"): the original event is `requestPayload`.
 */
export interface OnFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted' | 'EventAgeExceeded' | string; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext?: { statusCode?: number; executedVersion?: string; functionError?: string };
  responsePayload?: unknown;
}

/** The part of SQSClient replaying uses. */
export interface SqsPort {
  send(command: ReceiveMessageCommand, options?: { abortSignal?: AbortSignal | undefined }): Promise<ReceiveMessageCommandOutput>;
  send(command: DeleteMessageCommand, options?: { abortSignal?: AbortSignal | undefined }): Promise<DeleteMessageCommandOutput>;
}

export interface ReplayDeps extends TriggerDeps {
  sqs: SqsPort;
  queueUrl: string;
}

export interface ReplayOptions {
  /** Most messages to take from the queue (default: until it answers none). */
  maxMessages?: number;
  /** Seconds a received message stays hidden from other readers while it is replayed (default 60). */
  visibilityTimeoutSeconds?: number;
  /** Most milliseconds one SQS request, or one event's StartExecution calls, may wait for an answer (default 60 s). */
  requestTimeoutMs?: number;
  /** The budget of each request (default: `requestTimeoutMs` from when it starts); tests spend theirs at a moment they choose. */
  requestBudget?: () => RequestBudget & { dispose(): void };
}

/** What the AWS CLI waits for an answer by default (its --cli-read-timeout). */
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export interface ReplayedMessage {
  messageId: string;
  outcome: 'replayed' | 'failed' | 'unreadable';
  started?: number;
  alreadyStarted?: number;
  skipped?: number;
  /** Why it failed or could not be read. */
  error?: string;
  /** The original failure, as Lambda recorded it. */
  condition?: string;
}

export interface ReplaySummary {
  messages: ReplayedMessage[];
  replayed: number;
  failed: number;
  unreadable: number;
  /** Why the pass ended early: a request got no answer within its time (the messages not replayed stay queued). */
  stopped?: string;
}

/** The request or call got no answer in time: the budget cut it, or cut a StartExecution (Transfer.StartUnavailable caused by it). */
function unanswered(err: unknown): boolean {
  return err instanceof DeadlineError || (err instanceof Error && err.cause instanceof DeadlineError);
}

/** The original event of an on-failure record, or why it cannot be replayed. */
function parseOnFailureRecord(body: string | undefined): { record: OnFailureRecord } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return { problem: 'the message body is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || !('requestPayload' in parsed)) {
    return { problem: 'the message is not a Lambda on-failure record (no requestPayload)' };
  }
  return { record: parsed as OnFailureRecord };
}

/** Replays the queued events (see the file comment). Never throws for one message: each gets an outcome. */
export async function replayFailedEvents(deps: ReplayDeps, options: ReplayOptions = {}): Promise<ReplaySummary> {
  const messages: ReplayedMessage[] = [];
  const max = options.maxMessages ?? Number.POSITIVE_INFINITY;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const newBudget = options.requestBudget ?? (() => timedRequestBudget(timeoutMs));
  const seconds = `${Math.round(timeoutMs / 100) / 10} s`;
  /** Runs `work` inside a budget of its own. */
  const budgeted = async <T>(work: () => Promise<T>): Promise<T> => {
    const budget = newBudget();
    try {
      return await withRequestBudget(budget, work);
    } finally {
      budget.dispose();
    }
  };
  const sqsSend = <T>(what: string, send: (abortSignal: AbortSignal | undefined) => Promise<T>): Promise<T> =>
    budgeted(() => withinRequestBudget(`${what} ${deps.queueUrl}`, undefined, send));
  let stopped: string | undefined;
  // A message that failed is visible again after its timeout: meeting it again ends the pass.
  const seen = new Set<string>();
  pass: while (messages.length < max) {
    let received: ReceiveMessageCommandOutput;
    try {
      received = await sqsSend('ReceiveMessage', (abortSignal) =>
        deps.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: deps.queueUrl,
            MaxNumberOfMessages: Math.min(10, max - messages.length),
            VisibilityTimeout: options.visibilityTimeoutSeconds ?? 60,
            WaitTimeSeconds: 0,
          }),
          { abortSignal },
        ),
      );
    } catch (err) {
      if (!unanswered(err)) throw err;
      stopped = `SQS did not answer ReceiveMessage within ${seconds}: replaying stopped; the messages not replayed stay in the queue`;
      deps.logger.error('replaying stopped', { reason: stopped, error: errorFields(err) });
      break;
    }
    const batch = received.Messages ?? [];
    if (batch.length === 0) break;
    for (const message of batch) {
      const messageId = message.MessageId ?? '(no id)';
      if (seen.has(messageId)) break pass;
      seen.add(messageId);
      const parsed = parseOnFailureRecord(message.Body);
      if ('problem' in parsed) {
        deps.logger.error('queued event not replayable', { messageId, reason: parsed.problem });
        messages.push({ messageId, outcome: 'unreadable', error: parsed.problem });
        continue;
      }
      const { record } = parsed;
      const condition = record.requestContext?.condition;
      const kind = triggerEventKind(record.requestPayload);
      if (kind !== 's3-notification' && kind !== 'eventbridge') {
        const problem = `the queued event is not an S3 or EventBridge event (${kind})`;
        deps.logger.error('queued event not replayable', { messageId, reason: problem });
        messages.push({ messageId, outcome: 'unreadable', error: problem, condition });
        continue;
      }
      let started = false;
      try {
        const result = await budgeted(() => startTransfersForS3Event(record.requestPayload, kind, deps));
        started = true;
        await sqsSend('DeleteMessage', (abortSignal) => deps.sqs.send(new DeleteMessageCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: message.ReceiptHandle }), { abortSignal }));
        deps.logger.info('queued event replayed', { messageId, started: result.started, alreadyStarted: result.alreadyStarted, skipped: result.skipped });
        messages.push({ messageId, outcome: 'replayed', started: result.started, alreadyStarted: result.alreadyStarted, skipped: result.skipped, condition });
      } catch (err) {
        deps.logger.error('queued event failed again; kept in the queue', { messageId, error: errorFields(err) });
        const e = err instanceof Error ? err : new Error(String(err));
        const kept = started ? '; its transfers started, and replaying it again starts nothing twice' : '';
        messages.push({ messageId, outcome: 'failed', error: `${e.name}: ${e.message}${kept}`, condition });
        if (unanswered(err)) {
          stopped = started
            ? `SQS did not answer DeleteMessage within ${seconds}: replaying stopped; the messages not replayed stay in the queue`
            : `Step Functions did not answer StartExecution within ${seconds}: replaying stopped; the messages not replayed stay in the queue`;
          deps.logger.error('replaying stopped', { reason: stopped });
          break pass;
        }
      }
    }
  }
  return {
    messages,
    replayed: messages.filter((m) => m.outcome === 'replayed').length,
    failed: messages.filter((m) => m.outcome === 'failed').length,
    unreadable: messages.filter((m) => m.outcome === 'unreadable').length,
    ...(stopped !== undefined ? { stopped } : {}),
  };
}
