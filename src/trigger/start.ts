// The startTransfer trigger's core: S3 object-created events and HTTP requests become StartExecution
// calls of the transfer state machine, with execution names that make redelivered events and retried
// requests start nothing twice. functions/startTransfer.ts is the thin Lambda wrapper around it.
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { StartExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { TransferInput } from '../transfer/contract.ts';
import { ConfigurationError, DeadlineError, InvalidInputError, TransferError } from '../transfer/errors.ts';
import { isSyncInput, validateSyncInput } from '../bulk/input.ts';
import { defaultFileName, validateTransferInput } from '../transfer/input.ts';
import type { Logger } from '../transfer/logger.ts';
import { errorFields } from '../transfer/logger.ts';
import { withinRequestBudget } from '../transfer/request-budget.ts';
import { parseEventBridgeS3Event, parseS3Notification } from './events.ts';
import type { CreatedObject, IgnoredRecord } from './events.ts';
import { executionArnFor, executionNameForIdempotencyKey, executionNameForObject, randomExecutionName } from './names.ts';
import { placementFor } from './layout.ts';
import { matchRoute } from './routes.ts';
import type { TransferRoute } from './routes.ts';

/** Step Functions throttled StartExecution (429 or a throttling error) after the SDK's retries. Retry later. */
export class StartThrottledError extends TransferError {
  override name = 'Transfer.StartThrottled';
}
/**
 * Step Functions could not be reached or was briefly unavailable (5xx, connection refused or reset,
 * timeout) after the SDK's retries. Retry later.
 */
export class StartUnavailableError extends TransferError {
  override name = 'Transfer.StartUnavailable';
}
/** StartExecution failed for another reason (input too large, refused name, ...). */
export class StartFailedError extends TransferError {
  override name = 'Transfer.StartFailed';
}

/** The part of SFNClient the trigger uses (an SFNClient, or a test double). */
export interface StepFunctionsPort {
  send(command: StartExecutionCommand, options?: { abortSignal?: AbortSignal }): Promise<StartExecutionCommandOutput>;
}

export interface TriggerDeps {
  sfn: StepFunctionsPort;
  stateMachineArn: string;
  /**
   * The bulk state machine (BULK_STATE_MACHINE_ARN): POST /transfers with a prefix or manifest source
   * starts it. Absent: such requests are refused with Transfer.ConfigurationError.
   */
  bulkStateMachineArn?: string;
  routes: readonly TransferRoute[];
  logger: Logger;
  /**
   * How much earlier than the moment just before StartExecution a returned startDate must be to count
   * as an earlier execution (see startExecutionOnce). Default DEFAULT_CLOCK_SKEW_TOLERANCE_MS.
   */
  clockSkewToleranceMs?: number;
}

/** Clocks of Lambda and Step Functions are NTP-synchronized far closer than this. */
export const DEFAULT_CLOCK_SKEW_TOLERANCE_MS = 1000;

export interface StartResult {
  executionArn: string;
  executionName: string;
  /**
   * ISO-8601: when the execution started (for a repeat while it still runs, the first call's date);
   * absent after ExecutionAlreadyExists, which carries no date.
   */
  startDate?: string;
  /** True when an earlier event or request started the execution (see startExecutionOnce). */
  alreadyStarted: boolean;
}

export type ObjectOutcome =
  | ({ status: 'started' | 'already-started'; bucket: string; key: string; versionId?: string } & Omit<StartResult, 'alreadyStarted'>)
  | { status: 'skipped'; bucket?: string; key?: string; reason: string };

export interface S3TriggerResult {
  outcomes: ObjectOutcome[];
  started: number;
  alreadyStarted: number;
  skipped: number;
}

// Error names (SDK `name`) that mean "slow down".
const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'ExecutionLimitExceeded']);
// Error names that mean "the service is briefly unavailable".
const UNAVAILABLE = new Set(['ServiceUnavailable', 'InternalServerError', 'InternalFailure']);
// No answer at all: the SDK's own timeout errors and Node's socket errors (they carry no HTTP status).
const NO_ANSWER_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError']);
const NO_ANSWER_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'ENETDOWN', 'EHOSTUNREACH']);
// Error names that mean the deployment is wrong (wrong ARN, missing permission).
const MISCONFIGURED = new Set(['StateMachineDoesNotExist', 'StateMachineDeleting', 'InvalidArn', 'AccessDeniedException', 'UnrecognizedClientException']);

/** Maps an SDK error of StartExecution to a named transfer error. */
export function startExecutionError(err: unknown, stateMachineArn: string): Error {
  if (err instanceof DeadlineError) {
    // Cut by the invocation's request budget: no answer, so the execution may or may not have started.
    return new StartUnavailableError(
      `Step Functions did not answer StartExecution in time, so the request was cancelled; the execution may have started: a retry under the same execution name (the same event, or the same Idempotency-Key) starts nothing twice`,
      { cause: err },
    );
  }
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const e = err as { code?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  if (MISCONFIGURED.has(name)) {
    return new ConfigurationError(`StartExecution on ${stateMachineArn} failed with ${name}: ${message} (check STATE_MACHINE_ARN and the function's IAM role)`);
  }
  if (THROTTLED.has(name) || status === 429) {
    return new StartThrottledError(`StartExecution was throttled (${name}): ${message}`);
  }
  const noAnswer = status === undefined && (NO_ANSWER_NAMES.has(name) || (typeof e?.code === 'string' && NO_ANSWER_CODES.has(e.code)));
  if (UNAVAILABLE.has(name) || (status !== undefined && status >= 500) || noAnswer) {
    const code = typeof e?.code === 'string' ? `, ${e.code}` : '';
    return new StartUnavailableError(`Step Functions was unavailable (${name}${code}): ${message}`);
  }
  return new StartFailedError(`StartExecution failed with ${name}: ${message}`);
}

/**
 * StartExecution under a name chosen for deduplication. A name already used starts nothing; Step
 * Functions answers either ExecutionAlreadyExists (the execution has ended, or the input differs), or,
 * for the same input while the first execution still runs, HTTP 200 with that first execution's ARN
 * and startDate, exactly like a fresh start. Both mean "already started".
 *
 * Telling that 200 apart: the function's role may only call StartExecution (no DescribeExecution), so
 * the rule is the returned startDate. A new execution starts after the request leaves; an earlier one
 * started before it. So a startDate earlier than the moment just before the call, by more than
 * `clockSkewToleranceMs` (the two clocks may differ a little), is an earlier execution. A repeat that
 * follows its first call within the tolerance still reads as started (with the same ARN).
 * A random name (`nameCanRepeat` false) cannot have been used before, so its 200 is always a new start.
 */
async function startExecutionOnce(
  deps: TriggerDeps,
  executionName: string,
  input: TransferInput | Record<string, unknown>,
  nameCanRepeat = true,
): Promise<StartResult> {
  const tolerance = deps.clockSkewToleranceMs ?? DEFAULT_CLOCK_SKEW_TOLERANCE_MS;
  const before = Date.now();
  try {
    // Inside the invocation's request budget: a Step Functions that never answers ends before the Lambda's timeout.
    const out = await withinRequestBudget(`StartExecution ${executionName}`, undefined, async (abortSignal) =>
      deps.sfn.send(new StartExecutionCommand({ stateMachineArn: deps.stateMachineArn, name: executionName, input: JSON.stringify(input) }), { abortSignal }),
    );
    return {
      executionArn: out.executionArn ?? executionArnFor(deps.stateMachineArn, executionName),
      executionName,
      ...(out.startDate ? { startDate: out.startDate.toISOString() } : {}),
      alreadyStarted: nameCanRepeat && out.startDate !== undefined && out.startDate.getTime() < before - tolerance,
    };
  } catch (err) {
    if (err instanceof Error && err.name === 'ExecutionAlreadyExists') {
      return { executionArn: executionArnFor(deps.stateMachineArn, executionName), executionName, alreadyStarted: true };
    }
    throw startExecutionError(err, deps.stateMachineArn);
  }
}

/**
 * The TransferInput for a created object under its route: placed by the route's layout (names Box would
 * reject are mapped, never skipped), and committed only while it is the key's newest version in S3.
 * Throws Transfer.InvalidInput if it could not be valid.
 */
function transferInputForObject(object: CreatedObject, route: TransferRoute): TransferInput {
  const placement = placementFor(object.key, route.prefix, route.layout);
  const input: TransferInput = {
    source: { bucket: object.bucket, key: object.key, ...(object.versionId !== undefined ? { versionId: object.versionId } : {}), onlyIfCurrent: true },
    destination: { folderId: route.folderId, ...(placement.folderPath !== undefined ? { folderPath: placement.folderPath } : {}), fileName: placement.fileName },
    ...(route.onConflict !== undefined ? { onConflict: route.onConflict } : {}),
  };
  return validateTransferInput(input);
}

/**
 * What to do with one created object: start (input and name) or skip (why). `fromEvent` is false when
 * the event carries no version id, sequencer or ETag: the name is random, so a redelivery would start again.
 */
export function planObject(
  object: CreatedObject,
  routes: readonly TransferRoute[],
): { input: TransferInput; executionName: string; fromEvent: boolean } | { skip: string } {
  if (object.key.endsWith('/')) return { skip: 'folder marker (key ends with "/")' };
  const route = matchRoute(routes, object.bucket, object.key);
  if (route === undefined) return { skip: 'no route matches the bucket and key' };
  let input: TransferInput;
  try {
    input = transferInputForObject(object, route);
  } catch (err) {
    if (err instanceof InvalidInputError) return { skip: err.message };
    throw err;
  }
  const fromEvent = executionNameForObject(object);
  return { input, executionName: fromEvent ?? randomExecutionName('s3'), fromEvent: fromEvent !== undefined };
}

/** S3 notification or EventBridge event -> one StartExecution per routed object. Throws the first start failure after trying every object. */
export async function startTransfersForS3Event(event: unknown, kind: 's3-notification' | 'eventbridge', deps: TriggerDeps): Promise<S3TriggerResult> {
  const { objects, ignored } = kind === 'eventbridge' ? parseEventBridgeS3Event(event) : parseS3Notification(event);
  const outcomes: ObjectOutcome[] = ignored.map((i: IgnoredRecord) => ({ status: 'skipped' as const, ...i }));
  for (const i of ignored) deps.logger.info('S3 event record skipped', { ...i });
  let failure: Error | undefined;
  for (const object of objects) {
    const where = { bucket: object.bucket, key: object.key, versionId: object.versionId, via: object.via };
    const plan = planObject(object, deps.routes);
    if ('skip' in plan) {
      deps.logger.info('S3 object skipped', { ...where, reason: plan.skip });
      outcomes.push({ status: 'skipped', bucket: object.bucket, key: object.key, reason: plan.skip });
      continue;
    }
    if (!plan.fromEvent) {
      deps.logger.warn('S3 event has no version id, sequencer or ETag: a redelivery would start a second transfer', where);
    }
    try {
      const started = await startExecutionOnce(deps, plan.executionName, plan.input, plan.fromEvent);
      const { alreadyStarted, ...rest } = started;
      deps.logger.info(alreadyStarted ? 'transfer already started' : 'transfer started', { ...where, ...rest, folderId: plan.input.destination.folderId });
      outcomes.push({ status: alreadyStarted ? 'already-started' : 'started', bucket: object.bucket, key: object.key, ...(object.versionId !== undefined ? { versionId: object.versionId } : {}), ...rest });
    } catch (err) {
      deps.logger.error('StartExecution failed', { ...where, executionName: plan.executionName, error: errorFields(err) });
      failure ??= err instanceof Error ? err : new StartFailedError(String(err));
    }
  }
  // Lambda retries the whole event; the objects that did start dedupe by name.
  if (failure) throw failure;
  return {
    outcomes,
    started: outcomes.filter((o) => o.status === 'started').length,
    alreadyStarted: outcomes.filter((o) => o.status === 'already-started').length,
    skipped: outcomes.filter((o) => o.status === 'skipped').length,
  };
}

/**
 * POST /transfers. A one-object body is validated as a TransferInput (Transfer.InvalidInput names the
 * field) and starts the transfer state machine; a body with a prefix or manifest source is validated as
 * the bulk input (src/bulk/input.ts, the same message) and starts the bulk state machine. The execution is named from the Idempotency-Key when given (a retry with the same key
 * starts nothing new).
 */
export async function startTransferFromRequest(body: unknown, idempotencyKey: string | undefined, deps: TriggerDeps): Promise<StartResult> {
  const bulk = isSyncInput(body);
  let input: TransferInput | Record<string, unknown>;
  let target = deps;
  if (bulk) {
    // The bulk run's own validator (PlanSync runs it again): a bad body is a 400 naming the field, never a run.
    input = validateSyncInput(body) as unknown as Record<string, unknown>;
    if (deps.bulkStateMachineArn === undefined) {
      throw new ConfigurationError('BULK_STATE_MACHINE_ARN is not set: this deployment cannot start bulk runs (prefix or manifest sources)');
    }
    target = { ...deps, stateMachineArn: deps.bulkStateMachineArn };
  } else {
    const one = validateTransferInput(body);
    if (one.destination.fileName === undefined) defaultFileName(one.source.key);
    input = one;
  }
  const executionName = idempotencyKey === undefined ? randomExecutionName('http') : executionNameForIdempotencyKey(idempotencyKey);
  const result = await startExecutionOnce(target, executionName, input, idempotencyKey !== undefined);
  const source = (input as { source: { bucket: string; key?: string; prefix?: string } }).source;
  deps.logger.info(result.alreadyStarted ? 'transfer already started' : 'transfer started', {
    kind: bulk ? 'bulk' : 'one-object',
    bucket: source.bucket,
    ...(source.key !== undefined ? { key: source.key } : {}),
    ...(source.prefix !== undefined ? { prefix: source.prefix } : {}),
    folderId: (input as { destination?: { folderId?: unknown } }).destination?.folderId,
    executionName,
    executionArn: result.executionArn,
    idempotent: idempotencyKey !== undefined,
  });
  return result;
}
