// A user's stop (StopExecution) aborts the Box upload session. A stopped execution runs no more states,
// so no Catch or AbortSession of its own can do it: an EventBridge rule on the execution's status change
// (ABORTED) runs the AbortOnStop Lambda, which finds the session in the execution's history and aborts it.
//
// Where the session is: Prepare's output (its TaskStateExited event) holds the session it opened or took
// up; a resumed execution stopped before Prepare finished names its session in the input (resume.sessionId).
// A session created by a Prepare that was stopped mid-call is not in the history: Box deletes it after 7 days.
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
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
  /** GetExecutionHistory of the transfer state machine (an SFNClient). */
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

function sessionInInput(input: unknown): StoppedSession | undefined {
  const id = (input as { resume?: { sessionId?: unknown } } | undefined)?.resume?.sessionId;
  return typeof id === 'string' && /^[A-Za-z0-9]+$/.test(id) ? { id } : undefined;
}

/** Reads the execution's history from its start until it finds the session (usually on the first page). */
async function findStoppedSession(sfn: Pick<SFNClient, 'send'>, executionArn: string): Promise<StoppedSession | undefined> {
  let fromInput: StoppedSession | undefined;
  let nextToken: string | undefined;
  do {
    // Inside the invocation's request budget, as its Box requests are: cut with Transfer.Deadline before
    // the Lambda's timeout (Lambda retries the event).
    const token = nextToken;
    const page = await withinRequestBudget(`GetExecutionHistory ${executionArn}`, undefined, (abortSignal) =>
      sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, reverseOrder: false, includeExecutionData: true, nextToken: token }), { abortSignal }),
    );
    for (const event of page.events ?? ([] as HistoryEvent[])) {
      if (event.type === 'ExecutionStarted') fromInput = sessionInInput(parse(event.executionStartedEventDetails?.input));
      if (event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'Prepare') {
        return sessionInPrepareOutput(parse(event.stateExitedEventDetails.output)) ?? fromInput;
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return fromInput;
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
  const session = await findStoppedSession(deps.sfn, executionArn);
  const log = deps.logger.child({ executionArn, sessionId: session?.id });
  if (session === undefined) {
    log.info('stopped execution had no upload session');
    return { executionArn, aborted: false, reason: 'no upload session in the execution history' };
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
