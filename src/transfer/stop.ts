// A user's stop (StopExecution) aborts the Box upload session. A stopped execution runs no more states,
// so no Catch or AbortSession of its own can do it: an EventBridge rule on the execution's status change
// (ABORTED) runs the AbortOnStop Lambda, which finds the session in the execution's history and aborts it.
//
// Where the session is: Prepare's output (its TaskStateExited event) holds the session it opened or took
// up; a resumed execution stopped before Prepare finished names its session in the input (resume.sessionId).
// A session created by a Prepare that was stopped mid-call is not in the history: Box deletes it after 7 days.
//
// Only a user's stop aborts. Step Functions stops a nested transfer itself when the execution that started it
// ends while it runs (a `startExecution.sync:2` Task cancelled: the bulk run's Map Run failed past its tolerated
// failures, the bulk run timed out or was stopped). Such a transfer keeps its session (resumable: the bulk run's
// report carries its resume input). A nested transfer names its parent in its input
// (AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID, the field AWS documents for linking nested executions); a parent
// that has ended (not RUNNING, not SUCCEEDED: a parent that succeeded did not cancel anything) stopped it. A
// parent still running means a user stopped the nested transfer itself: aborted as any user's stop.
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import type { BoxClientLike } from './boxPort.ts';
import type { Logger } from './logger.ts';
import { errorFields } from './logger.ts';
import { withinRequestBudget } from './request-budget.ts';

/** The EventBridge event "Step Functions Execution Status Change" (the fields used here). */
export interface ExecutionStatusChangeEvent {
  source?: string;
  'detail-type'?: string;
  detail?: { executionArn?: string; stateMachineArn?: string; status?: string; name?: string };
}

export interface AbortOnStopResult {
  executionArn?: string;
  sessionId?: string;
  aborted: boolean;
  /** Why nothing was aborted. */
  reason?: string;
}

export interface AbortOnStopDeps {
  /** GetExecutionHistory of the transfer state machine, DescribeExecution of a nested transfer's parent (an SFNClient). */
  sfn: Pick<SFNClient, 'send'>;
  box: () => Promise<BoxClientLike>;
  logger: Logger;
}

/** The session a stopped execution left, by id (and its abort URL when Prepare's output gave it). */
export interface StoppedSession {
  id: string;
  abortUrl?: string;
}

function parse(json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function sessionInPrepareOutput(output: unknown): StoppedSession | undefined {
  const session = (output as { transfer?: { session?: { id?: unknown; endpoints?: { abort?: unknown } } } } | undefined)?.transfer?.session;
  if (typeof session?.id !== 'string') return undefined;
  return { id: session.id, ...(typeof session.endpoints?.abort === 'string' ? { abortUrl: session.endpoints.abort } : {}) };
}

/** The input field naming the execution that started a nested one (AWS's documented name; the console links them). */
const STARTED_BY_FIELD = 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID';

function parentOf(input: unknown): string | undefined {
  const arn = (input as Record<string, unknown> | undefined)?.[STARTED_BY_FIELD];
  return typeof arn === 'string' && arn.startsWith('arn:') ? arn : undefined;
}

function sessionInInput(input: unknown): StoppedSession | undefined {
  const id = (input as { resume?: { sessionId?: unknown } } | undefined)?.resume?.sessionId;
  return typeof id === 'string' && /^[A-Za-z0-9]+$/.test(id) ? { id } : undefined;
}

/** What a stopped execution's history tells: its input, and the session it opened or took up. */
export interface StoppedTransfer {
  input: unknown;
  session?: StoppedSession;
  /** Prepare's output (its `transfer` holds the session and what the run pinned), when Prepare had finished. */
  prepared?: unknown;
}

/** Reads the execution's history from its start until it finds the session (usually on the first page). */
export async function findStoppedTransfer(sfn: Pick<SFNClient, 'send'>, executionArn: string): Promise<StoppedTransfer> {
  let input: unknown;
  let fromInput: StoppedSession | undefined;
  let nextToken: string | undefined;
  const found = (session: StoppedSession | undefined, prepared?: unknown): StoppedTransfer => ({
    input,
    ...(session !== undefined ? { session } : {}),
    ...(prepared !== undefined ? { prepared } : {}),
  });
  do {
    // Inside the invocation's request budget, as its Box requests are: cut with Transfer.Deadline before
    // the Lambda's timeout (Lambda retries the event).
    const token = nextToken;
    const page = await withinRequestBudget(`GetExecutionHistory ${executionArn}`, undefined, (abortSignal) =>
      sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, reverseOrder: false, includeExecutionData: true, nextToken: token }), { abortSignal }),
    );
    for (const event of page.events ?? ([] as HistoryEvent[])) {
      if (event.type === 'ExecutionStarted') {
        input = parse(event.executionStartedEventDetails?.input);
        fromInput = sessionInInput(input);
      }
      if (event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'Prepare') {
        const prepared = parse(event.stateExitedEventDetails.output);
        return found(sessionInPrepareOutput(prepared) ?? fromInput, prepared);
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return found(fromInput);
}

/** The status of the execution that started a nested one; undefined when Step Functions no longer knows it. */
async function parentStatus(sfn: Pick<SFNClient, 'send'>, parentArn: string): Promise<string | undefined> {
  try {
    const described = await withinRequestBudget(`DescribeExecution ${parentArn}`, undefined, (abortSignal) =>
      sfn.send(new DescribeExecutionCommand({ executionArn: parentArn }), { abortSignal }),
    );
    return described.status;
  } catch (err) {
    if ((err as { name?: unknown })?.name === 'ExecutionDoesNotExist') return undefined;
    throw err;
  }
}

/** Aborts the Box session of a stopped transfer execution; Box's 404 (already gone) is not an error. */
export async function abortStoppedTransfer(event: ExecutionStatusChangeEvent, deps: AbortOnStopDeps): Promise<AbortOnStopResult> {
  const executionArn = event?.detail?.executionArn;
  const status = event?.detail?.status;
  if (typeof executionArn !== 'string' || executionArn === '') {
    deps.logger.error('not an execution status change event: nothing to do', { detailType: event?.['detail-type'] });
    return { aborted: false, reason: 'not an execution status change event' };
  }
  if (status !== 'ABORTED') return { executionArn, aborted: false, reason: `the execution is ${String(status)}, not stopped` };
  const { input, session } = await findStoppedTransfer(deps.sfn, executionArn);
  const log = deps.logger.child({ executionArn, sessionId: session?.id });
  if (session === undefined) {
    log.info('stopped execution had no upload session');
    return { executionArn, aborted: false, reason: 'no upload session in the execution history' };
  }
  const parent = parentOf(input);
  if (parent !== undefined) {
    const status = await parentStatus(deps.sfn, parent);
    // Unknown (gone) counts as ended: when in doubt the session is kept; Box deletes it after 7 days.
    if (status !== 'RUNNING' && status !== 'SUCCEEDED') {
      log.info('nested transfer stopped by its parent execution: upload session kept for resuming', { parent, parentStatus: status });
      return { executionArn, sessionId: session.id, aborted: false, reason: `stopped by its parent execution ${parent} (${status ?? 'unknown'}), not by a user: the session is kept for resuming` };
    }
  }
  const box = await deps.box();
  try {
    if (session.abortUrl !== undefined) await box.chunkedUploads.deleteFileUploadSessionByUrl(session.abortUrl);
    else await box.chunkedUploads.deleteFileUploadSessionById(session.id);
  } catch (err) {
    if (err instanceof Error && err.name === 'Box.NotFound') {
      log.info('upload session of the stopped execution was gone already');
      return { executionArn, sessionId: session.id, aborted: false, reason: 'Box has no such open session (committed, aborted or expired)' };
    }
    // Anything else is thrown: Lambda retries the asynchronous event.
    log.warn('could not abort the upload session of the stopped execution', { error: errorFields(err) });
    throw err;
  }
  log.info('upload session of the stopped execution aborted');
  return { executionArn, sessionId: session.id, aborted: true };
}
