// Runs the real state machine definition with aws-local-stepfunctions, each Task state bound to a local
// handler that is called the way Lambda calls it: a JSON copy of the event (so nothing is shared with the
// state document) and a Lambda-like context (deadline, request id). Handlers are given by Task state name;
// index.ts binds them to the real Lambda handlers (makeTaskHandlers), tests may pass stubs.

import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { RunOptions } from 'aws-local-stepfunctions';
import { parseFailureCause, resumeRefOf } from '../../src/transfer/failure.ts';
import type {
  FailureDocument,
  ResumeRef,
  LambdaContextLike,
  AbortSessionResult,
  CommitProgress,
  HashProgress,
  PrepareResult,
  TransferInput,
  TransferOutput,
  UploadBatchResult,
} from '../../src/transfer/contract.ts';
import { loadLocalDefinition, walkStates } from './definition.ts';
import type { LocalDefinition, TaskStateInfo } from './definition.ts';
import { HistoryRecorder } from './history.ts';
import type { ExecutionHistory, LocalEvent } from './history.ts';
import { isRecord } from '../../src/transfer/json.ts';

/** The part of aws-lambda's Context that the handlers use (declared with the transfer contract). */
export type { LambdaContextLike };

/** What the local runner passes as a Lambda context: LambdaContextLike plus the usual descriptive fields. */
export interface LocalLambdaContext extends LambdaContextLike {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler has its own event type
export type TaskHandler = (event: any, context: LocalLambdaContext) => Promise<unknown>;
/** Local handlers by Task state name (Prepare, DirectUpload, UploadBatch, HashObject, Commit, AbortSession). */
export type TaskHandlers = Record<string, TaskHandler>;

/** Progress of a run, for a live display (local/cli) or a test. */
export type TransferEvent =
  | { type: 'state-entered'; state: string; stateType: string; index?: number }
  | { type: 'state-exited'; state: string; stateType: string; index?: number }
  | { type: 'state-failed'; state: string; stateType: string; error: string; cause: string; index?: number }
  | { type: 'state-retried'; state: string; stateType: string; attempt: number; index?: number }
  | { type: 'state-caught'; state: string; stateType: string; index?: number }
  | {
      type: 'prepared';
      mode: PrepareResult['mode'];
      size: number;
      totalParts: number;
      partSize: number;
      batches: number;
      partsPerBatch: number;
      concurrency: number;
      /** Chunked: the Box session and what resumes it if the run stops (see FailureDocument.resumeInput.resume). */
      resume?: ResumeRef;
      /** Chunked, a resumed session: the parts Box already held (bitmap, as TransferContext.storedParts). */
      storedParts?: string;
    }
  | { type: 'batch-done'; batch: number; parts: number; bytes: number; alreadyUploaded: number }
  | { type: 'hash-progress'; bytes: number; size: number; done: boolean; via: HashProgress['via']; invocations: number }
  | { type: 'commit-wait'; seconds: number; waitMs: number; attempts: number; waitedSeconds: number }
  | { type: 'committed'; output: TransferOutput }
  | { type: 'uploaded'; output: TransferOutput }
  | { type: 'session-aborted'; aborted: boolean; reason?: string }
  | { type: 'execution-succeeded'; output: TransferOutput }
  | { type: 'execution-failed'; error: string; cause: string };

export interface ExecutionOptions {
  /** Local handlers by Task state name; every Task state of the definition needs one. */
  handlers: TaskHandlers;
  /** Default: statemachine/transfer.asl.yml through loadLocalDefinition(). */
  definition?: LocalDefinition;
  /** Default `local-<uuid>`; shows as `$$.Execution.Name`. */
  executionName?: string;
  /** Default `s3-to-box-local`: names the execution's ARN and `$$.StateMachine`. */
  stateMachineName?: string;
  onEvent?: (event: TransferEvent) => void;
  /**
   * The Lambda function timeout per invocation, in ms: a number for every Task, or per state name.
   * It sets the context's deadline (getRemainingTimeInMillis), and an invocation still running at the
   * deadline fails with `Sandbox.Timedout` as in Lambda. Default: the state's TimeoutSeconds (not enforced
   * beyond the runner's own States.Timeout). A short HashObject limit makes the resumable hash loop.
   */
  lambdaTimeoutMs?: number | Partial<Record<string, number>>;
  /**
   * Tests: ends an invocation as Lambda's timeout does (`Sandbox.Timedout`, the invocation abandoned) once
   * the promise returned for it resolves, so that a test decides when a Lambda dies instead of racing the
   * clock. Called with the Task state's name and the invocation's request id (its context's awsRequestId).
   */
  killInvocation?: (task: string, awsRequestId: string) => Promise<void> | undefined;
  /**
   * Scale Wait and Retry delays: 0 = no waiting, 0.01 = a hundredth. Commit waits (SecondsPath) are scaled
   * from Box's Retry-After; Retry intervals become IntervalSeconds x scale (without the backoff growth).
   */
  waitTimeScale?: number;
  /** aws-local-stepfunctions overrides (ms by state name); they win over waitTimeScale. */
  waitTimeOverrides?: Record<string, number>;
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Keep every local log entry in the history (default true; the counts are kept either way). */
  keepEvents?: boolean;
  signal?: AbortSignal;
}

export interface TransferExecution {
  executionName: string;
  executionArn: string;
  /** The execution's output; rejects with TransferExecutionError (or TransferAbortedError). Settles after the event log is drained. */
  result: Promise<TransferOutput>;
  /** The event log with AWS-equivalent counts and payload sizes; resolves when the execution ends (never rejects). */
  history: Promise<ExecutionHistory>;
  /**
   * Resolves once the execution has ended and every handler invocation it started has returned (never
   * rejects). As in AWS, invocations still running when an execution fails or is stopped run to their end,
   * and none starts after it (aws-local-stepfunctions would still start Map items queued behind a failed one).
   * Every request those invocations made has settled on the client's side by then; a request cancelled
   * after it was sent whole may still be acted on by the server later (the Box emulator's settled()).
   */
  idle: Promise<void>;
  /** The local event log so far (empty with keepEvents false): what the local Step Functions API's GetExecutionHistory reads. */
  eventsSoFar(): LocalEvent[];
  abort(): void;
}

/**
 * A failed execution: `name` is the execution's Error (e.g. `Transfer.NameConflict`), `cause` its Cause as
 * Step Functions reports it, `failure` the failure document that Cause holds (DescribeFailure), and
 * `message` the original error's message.
 */
export class TransferExecutionError extends Error {
  readonly error: string;
  override readonly cause: string;
  readonly executionName: string;
  /** Undefined only when the execution failed without DescribeFailure (e.g. it failed itself, or an execution timeout). */
  readonly failure: FailureDocument | undefined;
  constructor(error: string, cause: string, executionName: string) {
    const failure = parseFailureCause(cause);
    super(failure?.error.message ?? cause);
    this.name = error;
    this.error = error;
    this.cause = cause;
    this.executionName = executionName;
    this.failure = failure;
  }
}

/** The execution was stopped through the signal or abort(). */
export class TransferAbortedError extends Error {
  override name = 'Execution.Aborted';
}

/** A Lambda invocation that ran past its function timeout (the error name Step Functions reports for it). */
export class LambdaTimeoutError extends Error {
  override name = 'Sandbox.Timedout';
}

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const STATE_MACHINE_NAME = 's3-to-box-local';
const DEFAULT_TASK_TIMEOUT_SECONDS = 60; // aws-local-stepfunctions' default when a Task has no TimeoutSeconds

/** Start one execution of the transfer state machine. */
export function startExecution(input: TransferInput, options: ExecutionOptions): TransferExecution {
  const local = options.definition ?? loadLocalDefinition({ region: REGION, accountId: ACCOUNT });
  const executionName = options.executionName ?? `local-${randomUUID()}`;
  const machineName = options.stateMachineName ?? STATE_MACHINE_NAME;
  const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${machineName}`;
  const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machineName}:${executionName}`;
  const recorder = new HistoryRecorder({ keepEvents: options.keepEvents ?? true });
  const emit = (event: TransferEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken progress display must not break the transfer.
    }
  };
  const scale = options.waitTimeScale;
  // The Retry-After of the last Commit that answered `processing`: what the commit Wait state waits.
  const commitWait = { lastRetryAfterSeconds: 0 };

  // Runs of each Task state by its input, for the `$$.State.RetryCount` fields (see definition.ts).
  const runsByInput = new Map<string, number>();
  const activity = new InvocationTracker(containersEnclosing(local.definition as unknown as Record<string, unknown>));

  type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
  const localHandlers: LocalHandlers = {};
  for (const task of local.tasks.values()) {
    const handler = options.handlers[task.name];
    if (!handler) throw new Error(`No local handler for the Task state ${task.name}`);
    const limitMs = lambdaLimitMs(task, options.lambdaTimeoutMs);
    localHandlers[task.name] = (async (stateInput: unknown) => {
      // aws-local-stepfunctions starts Map items queued behind a failed one, and ends the Retry wait of a
      // stopped branch at once (then retries it); AWS starts neither. Whether the Map or Parallel failed is
      // known from its event log, which reaches us a few promise turns later: let it arrive first.
      await eventLogCaughtUp();
      const stopped = activity.stoppedFor(task.name);
      if (stopped !== undefined) throw new TransferAbortedError(`${stopped}: ${task.name} is not invoked`);
      // Lambda receives JSON and returns JSON: copy both ways, and measure them as AWS would.
      const eventJson = JSON.stringify(stateInput) ?? 'null';
      recorder.notePayload(`${task.name} payload`, Buffer.byteLength(eventJson, 'utf8'));
      const event: unknown = JSON.parse(eventJson);
      if (task.retryCountFields.length > 0 && isRecord(event)) {
        // $$.State.RetryCount, as AWS would fill it: earlier runs of this state with this same input.
        const key = `${task.name}\n${eventJson}`;
        const retryCount = runsByInput.get(key) ?? 0;
        runsByInput.set(key, retryCount + 1);
        for (const field of task.retryCountFields) event[field] = retryCount;
      }
      const context = lambdaContext(task, Date.now() + limitMs.ms, executionName);
      const killed = options.killInvocation?.(task.name, context.awsRequestId);
      const invocation = activity.track(handler(event, context));
      const raw = limitMs.enforced || killed !== undefined ? await withDeadline(invocation, limitMs.enforced ? limitMs.ms : undefined, killed) : await invocation;
      const resultJson = JSON.stringify(raw) ?? 'null';
      recorder.notePayload(`${task.name} result`, Buffer.byteLength(resultJson, 'utf8'));
      const result: unknown = JSON.parse(resultJson);
      reportResult(task.name, event, result);
      return result as never;
    }) as LocalHandlers[string];
  }

  function reportResult(stateName: string, event: unknown, result: unknown): void {
    if (!isRecord(result)) return;
    switch (stateName) {
      case 'Prepare': {
        const prepared = result as unknown as PrepareResult;
        const transfer = prepared.transfer;
        emit({
          type: 'prepared',
          mode: prepared.mode,
          size: transfer?.source?.size ?? 0,
          totalParts: transfer?.session?.totalParts ?? 0,
          partSize: transfer?.session?.partSize ?? 0,
          batches: Array.isArray(prepared.batches) ? prepared.batches.length : 0,
          partsPerBatch: transfer?.partsPerBatch ?? 0,
          concurrency: (transfer?.mapConcurrency ?? 0) * (transfer?.partsInFlight ?? 0),
          ...(transfer?.session !== undefined ? { resume: resumeRefOf(transfer) } : {}),
          ...(transfer?.storedParts !== undefined ? { storedParts: transfer.storedParts } : {}),
        });
        break;
      }
      case 'UploadBatch': {
        const done = result as unknown as UploadBatchResult;
        emit({ type: 'batch-done', batch: done.batch, parts: done.parts, bytes: done.bytes, alreadyUploaded: done.alreadyUploaded });
        break;
      }
      case 'HashObject': {
        const hash = result as unknown as HashProgress;
        const size = isRecord(event) && isRecord(event['transfer']) && isRecord(event['transfer']['source'])
          ? Number(event['transfer']['source']['size'])
          : 0;
        emit({ type: 'hash-progress', bytes: hash.done ? size : hash.offset, size, done: hash.done, via: hash.via, invocations: hash.invocations });
        break;
      }
      case 'Commit': {
        const commit = result as unknown as CommitProgress;
        if (commit.status === 'processing') {
          commitWait.lastRetryAfterSeconds = commit.retryAfterSeconds;
          const waitMs = options.waitTimeOverrides?.['WaitForCommit'] ?? waitMsFor(commit.retryAfterSeconds);
          emit({ type: 'commit-wait', seconds: commit.retryAfterSeconds, waitMs, attempts: commit.attempts, waitedSeconds: commit.waitedSeconds });
        } else if (commit.status === 'committed' && commit.output) {
          emit({ type: 'committed', output: commit.output });
        }
        break;
      }
      case 'DirectUpload':
        emit({ type: 'uploaded', output: result as unknown as TransferOutput });
        break;
      case 'AbortSession': {
        const aborted = result as unknown as AbortSessionResult;
        emit({ type: 'session-aborted', aborted: aborted.aborted, ...(aborted.reason === undefined ? {} : { reason: aborted.reason }) });
        break;
      }
      default:
        break;
    }
  }

  function waitMsFor(seconds: number): number {
    return scale === undefined ? seconds * 1000 : Math.round(seconds * 1000 * scale);
  }

  const overrides: NonNullable<RunOptions['overrides']> = {
    taskResourceLocalHandlers: localHandlers,
    waitTimeOverrides: buildWaitOverrides(local, scale, () => commitWait.lastRetryAfterSeconds, waitMsFor, options.waitTimeOverrides),
    retryIntervalOverrides: buildRetryOverrides(local, scale, options.retryIntervalOverrides),
  };

  // Not validated again here: asl-validator checks the definition in the test suite
  // (test/statemachine/definition.test.ts) and at package time (serverless-step-functions), and on
  // every local execution it cost more CPU than the rest of the run's start, before the first Box request.
  const machine = new StateMachine(local.definition, { validationOptions: { noValidate: true } });
  const execution = machine.run(input as never, {
    overrides,
    context: {
      Execution: { Id: executionArn, Name: executionName, RoleArn: `arn:aws:iam::${ACCOUNT}:role/${machineName}` },
      StateMachine: { Id: stateMachineArn, Name: machineName },
    },
  });

  const onAbort = (): void => execution.abort();
  if (options.signal) {
    if (options.signal.aborted) queueMicrotask(onAbort);
    else options.signal.addEventListener('abort', onAbort, { once: true });
  }

  const history = (async (): Promise<ExecutionHistory> => {
    for await (const event of execution.eventLogs) {
      activity.note(event);
      recorder.add(event);
      const progress = progressOf(event);
      if (progress) emit(progress);
    }
    return recorder.snapshot();
  })();

  const result = (async (): Promise<TransferOutput> => {
    try {
      // From the moment the execution ends, nothing new is invoked (idle).
      const output = (await execution.result.finally(() => activity.end())) as unknown as TransferOutput;
      await history;
      emit({ type: 'execution-succeeded', output });
      return output;
    } catch (error) {
      await history;
      const failure = toExecutionFailure(error, executionName);
      if (failure instanceof TransferExecutionError) emit({ type: 'execution-failed', error: failure.error, cause: failure.cause });
      throw failure;
    } finally {
      activity.end();
      options.signal?.removeEventListener('abort', onAbort);
    }
  })();
  // The caller may only look at `history`; a rejection of `result` is theirs to handle, not a crash here.
  result.catch(() => undefined);

  return { executionName, executionArn, result, history, idle: activity.idle, eventsSoFar: () => recorder.events.slice(), abort: () => execution.abort() };
}

/** Resolves once every promise turn queued so far has run (the event log's delivery is promise turns only). */
function eventLogCaughtUp(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Which new invocations AWS would not start, and the invocations in flight. After end() nothing starts and
 * `idle` resolves when the last invocation returns. A Map whose iteration failed starts no further items
 * (aws-local-stepfunctions would run the items queued behind MaxConcurrency; AWS aborts them), and a
 * Parallel whose branch failed runs nothing more in its other branches (AWS stops them).
 *
 * `idle` covers the invocations, not the requests they gave up on: a request its client cancelled after
 * sending it whole may still be acted on by the server after `idle` (Box does the same); the Box
 * emulator's settled() waits for those.
 */
class InvocationTracker {
  ended = false;
  #inFlight = 0;
  #resolveIdle: () => void = () => undefined;
  readonly idle = new Promise<void>((resolve) => {
    this.#resolveIdle = resolve;
  });
  readonly #containersOf: Map<string, string[]>;
  readonly #failed = new Set<string>();

  /** `containersOf`: Task state name -> the Map and Parallel states it runs inside. */
  constructor(containersOf: Map<string, string[]>) {
    this.#containersOf = containersOf;
  }

  /** Why a new invocation of `task` must not start, if it must not. */
  stoppedFor(task: string): string | undefined {
    if (this.ended) return 'The execution has ended';
    const failed = this.#containersOf.get(task)?.find((state) => this.#failed.has(state));
    return failed === undefined ? undefined : `The state ${failed} failed (an item or a branch of it)`;
  }

  note(event: LocalEvent): void {
    if (event.type === 'MapIterationFailed' || event.type === 'ParallelBranchFailed') this.#failed.add(event.parentState.name);
    else if (event.type === 'StateEntered' && (event.state.type === 'Map' || event.state.type === 'Parallel')) this.#failed.delete(event.state.name);
  }

  track<T>(invocation: Promise<T>): Promise<T> {
    this.#inFlight += 1;
    const done = (): void => {
      this.#inFlight -= 1;
      if (this.ended && this.#inFlight === 0) this.#resolveIdle();
    };
    invocation.then(done, done);
    return invocation;
  }

  end(): void {
    this.ended = true;
    if (this.#inFlight === 0) this.#resolveIdle();
  }
}

/** For each Task state inside a Map's ItemProcessor or a Parallel's branch, the names of those states around it. */
function containersEnclosing(machine: Record<string, unknown>, around: string[] = [], out = new Map<string, string[]>()): Map<string, string[]> {
  const states = machine['States'];
  if (!isRecord(states)) return out;
  for (const [name, state] of Object.entries(states)) {
    if (!isRecord(state)) continue;
    if (state['Type'] === 'Task' && around.length > 0) out.set(name, around);
    const processor = state['ItemProcessor'] ?? state['Iterator'];
    if (isRecord(processor)) containersEnclosing(processor, [...around, name], out);
    const branches = state['Branches'];
    if (Array.isArray(branches)) for (const branch of branches) if (isRecord(branch)) containersEnclosing(branch, [...around, name], out);
  }
  return out;
}

function toExecutionFailure(error: unknown, executionName: string): Error {
  if (error instanceof ExecutionAbortedError) return new TransferAbortedError('The execution was aborted');
  if (error instanceof ExecutionTimeoutError) return new TransferExecutionError('States.Timeout', 'The execution timed out', executionName);
  if (error instanceof ExecutionError) {
    const cause = error.cause;
    if (cause instanceof Error) return new TransferExecutionError(cause.name, cause.message, executionName);
    return new TransferExecutionError('States.Runtime', String(cause ?? error.message), executionName);
  }
  if (error instanceof Error) return new TransferExecutionError(error.name, error.message, executionName);
  return new TransferExecutionError('States.Runtime', String(error), executionName);
}

function progressOf(event: LocalEvent): TransferEvent | undefined {
  const index = 'index' in event && typeof event.index === 'number' ? { index: event.index } : {};
  switch (event.type) {
    case 'StateEntered':
      return { type: 'state-entered', state: event.state.name, stateType: event.state.type, ...index };
    case 'StateExited':
      return { type: 'state-exited', state: event.state.name, stateType: event.state.type, ...index };
    case 'StateFailed':
      return { type: 'state-failed', state: event.state.name, stateType: event.state.type, error: event.Error, cause: String(event.Cause), ...index };
    case 'StateRetried':
      return { type: 'state-retried', state: event.state.name, stateType: event.state.type, attempt: event.retry.attempt, ...index };
    case 'StateCaught':
      return { type: 'state-caught', state: event.state.name, stateType: event.state.type, ...index };
    default:
      return undefined;
  }
}

function lambdaLimitMs(task: TaskStateInfo, limit: ExecutionOptions['lambdaTimeoutMs']): { ms: number; enforced: boolean } {
  const explicit = typeof limit === 'number' ? limit : limit?.[task.name];
  if (explicit !== undefined) return { ms: explicit, enforced: true };
  return { ms: (task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS) * 1000, enforced: false };
}

function lambdaContext(task: TaskStateInfo, deadline: number, executionName: string): LocalLambdaContext {
  const functionName = `s3-to-box-local-${task.functionKey}`;
  return {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: task.resource,
    memoryLimitInMB: '1024',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${executionName}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** `work`, or Sandbox.Timedout after `ms` or once `killed` resolves, whichever comes first. */
async function withDeadline<T>(work: Promise<T>, ms: number | undefined, killed?: Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    if (ms !== undefined) timer = setTimeout(() => reject(new LambdaTimeoutError(`Task timed out after ${(ms / 1000).toFixed(2)} seconds`)), ms);
    void killed?.then(() => reject(new LambdaTimeoutError('Task timed out (the invocation was killed)')));
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    // The abandoned invocation may still settle later; its rejection is not anyone's to handle.
    work.catch(() => undefined);
  }
}

/**
 * Wait-state overrides. aws-local-stepfunctions reads `waitTimeOverrides[stateName]` when the Wait state
 * runs, so a getter can scale the Retry-After that the last Commit returned (the only SecondsPath wait here).
 */
function buildWaitOverrides(
  local: LocalDefinition,
  scale: number | undefined,
  lastSeconds: () => number,
  waitMsFor: (seconds: number) => number,
  explicit: Record<string, number> | undefined,
): Record<string, number> {
  const overrides: Record<string, number> = { ...explicit };
  if (scale !== undefined) {
    for (const [name, definition] of walkStates(local.definition as unknown as Record<string, unknown>)) {
      if (definition['Type'] !== 'Wait' || name in overrides) continue;
      const fixed = definition['Seconds'];
      if (typeof fixed === 'number') overrides[name] = waitMsFor(fixed);
      else if (typeof definition['SecondsPath'] === 'string') {
        Object.defineProperty(overrides, name, { enumerable: true, get: () => waitMsFor(lastSeconds()) });
      }
    }
  }
  return overrides;
}

function buildRetryOverrides(
  local: LocalDefinition,
  scale: number | undefined,
  explicit: Record<string, number | number[]> | undefined,
): Record<string, number | number[]> {
  const overrides: Record<string, number | number[]> = {};
  if (scale !== undefined) {
    for (const [name, definition] of walkStates(local.definition as unknown as Record<string, unknown>)) {
      const retry = definition['Retry'];
      if (!Array.isArray(retry)) continue;
      overrides[name] = retry.map((retrier: unknown) => {
        const interval = isRecord(retrier) && typeof retrier['IntervalSeconds'] === 'number' ? retrier['IntervalSeconds'] : 1;
        return Math.round(interval * 1000 * scale);
      });
    }
  }
  return { ...overrides, ...explicit };
}
