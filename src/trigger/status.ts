// The status of transfers (GET /transfers/{name}, GET /transfers, `s3-to-box status`), read from Step
// Functions with DescribeExecution, ListExecutions and GetExecutionHistory, and, for a running chunked
// transfer, from Box's list parts (`total_count`, one part asked for); for a running bulk run, from its
// Distributed Map's counts (ListMapRuns, DescribeMapRun).
import { DescribeExecutionCommand, DescribeMapRunCommand, GetExecutionHistoryCommand, ListExecutionsCommand, ListMapRunsCommand } from '@aws-sdk/client-sfn';
import type {
  DescribeExecutionCommandOutput,
  DescribeMapRunCommandOutput,
  GetExecutionHistoryCommandOutput,
  ListExecutionsCommandOutput,
  ListMapRunsCommandOutput,
} from '@aws-sdk/client-sfn';
import type { ChunkedUploadsManager } from '../box/chunkedUploads.ts';
import type { FailureDocument, PrepareResult } from '../transfer/contract.ts';
import { DeadlineError, InvalidInputError, TransferError } from '../transfer/errors.ts';
import { withinRequestBudget } from '../transfer/request-budget.ts';
import { executionArnFor, isValidExecutionName } from './names.ts';

/** No execution of that name (or ARN) under the deployment's state machines. */
export class TransferNotFoundError extends TransferError {
  override name = 'Transfer.NotFound';
}

const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT', 'PENDING_REDRIVE'] as const;
export type ExecutionStatusName = (typeof EXECUTION_STATUSES)[number];

type SendOptions = { abortSignal?: AbortSignal | undefined };

/**
 * The part of SFNClient the status reader uses. Every call runs inside the invocation's request budget
 * (src/transfer/request-budget.ts): in the transferStatus Lambda, one Step Functions or Box request that
 * never answers ends in Transfer.Deadline before the Lambda's timeout.
 */
export interface StatusSfnPort {
  send(command: DescribeExecutionCommand, options?: SendOptions): Promise<DescribeExecutionCommandOutput>;
  send(command: ListExecutionsCommand, options?: SendOptions): Promise<ListExecutionsCommandOutput>;
  send(command: GetExecutionHistoryCommand, options?: SendOptions): Promise<GetExecutionHistoryCommandOutput>;
  send(command: ListMapRunsCommand, options?: SendOptions): Promise<ListMapRunsCommandOutput>;
  send(command: DescribeMapRunCommand, options?: SendOptions): Promise<DescribeMapRunCommandOutput>;
}

export interface StatusDeps {
  sfn: StatusSfnPort;
  /** The transfer state machine (a command line that knows only the bulk one leaves it out). */
  stateMachineArn?: string;
  /** The bulk state machine, when deployed. */
  bulkStateMachineArn?: string;
  /** Box, for the progress of a running chunked transfer; without it no progress is reported. */
  box?: () => Promise<{ chunkedUploads: Pick<ChunkedUploadsManager, 'getFileUploadSessionParts'> }>;
}

export interface TransferProgress {
  mode: 'direct' | 'chunked';
  size: number;
  /** Chunked: parts Box holds for the session, of the total. */
  partsStored?: number;
  totalParts?: number;
  /** Chunked: bytes of the parts Box holds. */
  bytesStored?: number;
  /** Why the parts could not be counted (Box unreachable, no credentials, ...). */
  unavailable?: string;
}

/**
 * A running bulk run's objects, from its Distributed Map (DescribeMapRun `itemCounts`: an item is a listed
 * object). Objects move by batch (one child workflow each): `finished` objects are in batches that ended
 * (each copied, skipped or failed on its own; which one is in the report when the run ends), `failed` ones
 * in batches that failed, timed out or were stopped as a whole.
 */
export interface BulkProgress {
  mode: 'bulk';
  /** Absent while the run plans and lists (no Map Run yet), or when `unavailable`. */
  objects?: { listed: number; pending: number; running: number; finished: number; failed: number };
  /** Why the objects could not be counted (Step Functions refused or failed). */
  unavailable?: string;
}

export interface TransferStatus {
  name: string;
  executionArn: string;
  kind: 'transfer' | 'bulk';
  status: string;
  startDate?: string;
  stopDate?: string;
  /** SUCCEEDED: the execution's output (the Box file, or a bulk run's summary and report location). */
  output?: unknown;
  /** FAILED, TIMED_OUT, ABORTED: the failure document. */
  failure?: FailureDocument;
  /** RUNNING transfers and bulk runs. */
  progress?: TransferProgress | BulkProgress;
}

const EXECUTION_ARN = /^arn:[a-z-]+:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_-]{1,80}$/;

/** A well-formed execution ARN (arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME). */
export function isExecutionArn(text: string): boolean {
  return EXECUTION_ARN.test(text);
}

function iso(date: Date | undefined): string | undefined {
  return date?.toISOString();
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The failure document of an ended execution: its Cause when that is one, else built from Error and Cause. */
function failureDocumentOf(error: string | undefined, cause: string | undefined, status: string): FailureDocument {
  const parsed = parseJson(cause);
  if (typeof parsed === 'object' && parsed !== null && typeof (parsed as FailureDocument).error?.name === 'string') return parsed as FailureDocument;
  const name = error ?? (status === 'TIMED_OUT' ? 'States.Timeout' : status === 'ABORTED' ? 'States.Aborted' : 'States.Runtime');
  const message = typeof cause === 'string' && cause !== '' ? cause : status === 'ABORTED' ? 'the execution was stopped' : status === 'TIMED_OUT' ? 'the execution timed out' : '';
  return { error: { name, message }, resumable: false };
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'ExecutionDoesNotExist' || name === 'StateMachineDoesNotExist';
}

/** The executions a name or ARN may be, checked: 400 for a malformed one. */
function candidateArns(deps: StatusDeps, nameOrArn: string): { arn: string; kind: 'transfer' | 'bulk' }[] {
  if (nameOrArn.startsWith('arn:')) {
    if (!isExecutionArn(nameOrArn)) throw new InvalidInputError(`"${nameOrArn}" is not an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME)`);
    const machine = nameOrArn.split(':')[6];
    const bulk = deps.bulkStateMachineArn !== undefined && deps.bulkStateMachineArn.split(':')[6] === machine;
    const transfer = deps.stateMachineArn !== undefined && deps.stateMachineArn.split(':')[6] === machine;
    if (!bulk && !transfer) throw new TransferNotFoundError(`${nameOrArn} is not an execution of this deployment's state machines`);
    return [{ arn: nameOrArn, kind: bulk ? 'bulk' : 'transfer' }];
  }
  if (!isValidExecutionName(nameOrArn)) {
    throw new InvalidInputError(`"${nameOrArn.slice(0, 100)}" is not an execution name (1-80 characters of A-Z, a-z, 0-9, - and _)`);
  }
  const arns: { arn: string; kind: 'transfer' | 'bulk' }[] = [];
  if (deps.stateMachineArn !== undefined) arns.push({ arn: executionArnFor(deps.stateMachineArn, nameOrArn), kind: 'transfer' });
  if (deps.bulkStateMachineArn !== undefined) arns.push({ arn: executionArnFor(deps.bulkStateMachineArn, nameOrArn), kind: 'bulk' });
  return arns;
}

/** Prepare's output, from the first events of the execution's history (Prepare is its first state). */
async function preparedOf(deps: StatusDeps, executionArn: string): Promise<PrepareResult | undefined> {
  let nextToken: string | undefined;
  for (let page = 0; page < 3; page++) {
    const token = nextToken;
    const history = await withinRequestBudget(`GetExecutionHistory ${executionArn}`, undefined, (abortSignal) =>
      deps.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 50, includeExecutionData: true, ...(token ? { nextToken: token } : {}) }), { abortSignal }),
    );
    for (const event of history.events ?? []) {
      if (event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'Prepare') {
        const output = parseJson(event.stateExitedEventDetails.output);
        return typeof output === 'object' && output !== null ? (output as PrepareResult) : undefined;
      }
    }
    nextToken = history.nextToken;
    if (nextToken === undefined) return undefined;
  }
  return undefined;
}

/** Why a progress count is missing: the error, or, when the request budget cut the request, that the service did not answer in time. */
function unavailableBecause(e: Error, service: string): string {
  if (e instanceof DeadlineError) return `${e.name}: ${service} did not answer before the function's time was nearly up (${e.message})`;
  return `${e.name}: ${e.message}`;
}

async function progressOf(deps: StatusDeps, executionArn: string): Promise<TransferProgress | undefined> {
  const prepared = await preparedOf(deps, executionArn);
  const transfer = prepared?.transfer;
  if (transfer === undefined) return undefined; // still in Prepare
  const size = transfer.source?.size ?? 0;
  if (prepared?.mode === 'direct' || transfer.session === undefined) return { mode: 'direct', size };
  const { session } = transfer;
  const progress: TransferProgress = { mode: 'chunked', size, totalParts: session.totalParts };
  const { box } = deps;
  if (box === undefined) return { ...progress, unavailable: 'no Box credentials to count the stored parts' };
  try {
    // The Box client honours the budget by itself; inside withinRequestBudget its cut is named Transfer.Deadline.
    const parts = await withinRequestBudget(`Box list parts of session ${session.id}`, undefined, async () =>
      (await box()).chunkedUploads.getFileUploadSessionParts(session.id, { limit: 1 }),
    );
    const stored = parts.total_count;
    return { ...progress, partsStored: stored, bytesStored: Math.min(size, stored * session.partSize) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { ...progress, unavailable: unavailableBecause(e, 'Box') };
  }
}

/** The counts of a running bulk run's (newest) Map Run; without one yet, no counts. */
async function bulkProgressOf(deps: StatusDeps, executionArn: string): Promise<BulkProgress> {
  try {
    const { mapRuns } = await withinRequestBudget(`ListMapRuns ${executionArn}`, undefined, (abortSignal) =>
      deps.sfn.send(new ListMapRunsCommand({ executionArn, maxResults: 10 }), { abortSignal }),
    );
    const newest = [...(mapRuns ?? [])].sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0))[0];
    if (newest?.mapRunArn === undefined) return { mode: 'bulk' };
    const mapRunArn = newest.mapRunArn;
    const { itemCounts: c } = await withinRequestBudget(`DescribeMapRun ${mapRunArn}`, undefined, (abortSignal) =>
      deps.sfn.send(new DescribeMapRunCommand({ mapRunArn }), { abortSignal }),
    );
    const n = (v: number | undefined): number => v ?? 0;
    return {
      mode: 'bulk',
      objects: {
        listed: n(c?.total),
        pending: n(c?.pending),
        running: n(c?.running),
        finished: n(c?.succeeded),
        failed: n(c?.failed) + n(c?.timedOut) + n(c?.aborted),
      },
    };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { mode: 'bulk', unavailable: unavailableBecause(e, 'Step Functions') };
  }
}

/** The status of one execution, by name or ARN. Throws Transfer.InvalidInput (malformed) or Transfer.NotFound. */
export async function getTransferStatus(deps: StatusDeps, nameOrArn: string): Promise<TransferStatus> {
  for (const { arn, kind } of candidateArns(deps, nameOrArn)) {
    let described: DescribeExecutionCommandOutput;
    try {
      described = await withinRequestBudget(`DescribeExecution ${arn}`, undefined, (abortSignal) =>
        deps.sfn.send(new DescribeExecutionCommand({ executionArn: arn }), { abortSignal }),
      );
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    const status = described.status ?? 'RUNNING';
    const result: TransferStatus = {
      name: described.name ?? arn.split(':').at(-1) ?? '',
      executionArn: described.executionArn ?? arn,
      kind,
      status,
      ...(described.startDate ? { startDate: iso(described.startDate) } : {}),
      ...(described.stopDate ? { stopDate: iso(described.stopDate) } : {}),
    };
    if (status === 'SUCCEEDED') result.output = parseJson(described.output);
    if (status === 'FAILED' || status === 'TIMED_OUT' || status === 'ABORTED' || status === 'PENDING_REDRIVE') {
      result.failure = failureDocumentOf(described.error, described.cause, status);
    }
    if (status === 'RUNNING' && kind === 'transfer') {
      const progress = await progressOf(deps, result.executionArn);
      if (progress !== undefined) result.progress = progress;
    }
    if (status === 'RUNNING' && kind === 'bulk') result.progress = await bulkProgressOf(deps, result.executionArn);
    return result;
  }
  throw new TransferNotFoundError(`No transfer named ${JSON.stringify(nameOrArn)}`);
}

export interface ListQuery {
  status?: ExecutionStatusName;
  limit?: number;
  nextToken?: string;
  kind?: 'transfer' | 'bulk';
}

/** Checks GET /transfers' query (status, limit 1-1000, nextToken, kind); Transfer.InvalidInput names the field. */
export function parseListQuery(query: Record<string, string | undefined> | undefined): ListQuery {
  const q = query ?? {};
  const known = new Set(['status', 'limit', 'nextToken', 'kind']);
  for (const field of Object.keys(q)) if (!known.has(field)) throw new InvalidInputError(`${field} is not a known query parameter (known: status, limit, nextToken, kind)`);
  const out: ListQuery = {};
  if (q.status !== undefined) {
    if (!(EXECUTION_STATUSES as readonly string[]).includes(q.status)) throw new InvalidInputError(`status must be one of ${EXECUTION_STATUSES.join(', ')}`);
    out.status = q.status as ExecutionStatusName;
  }
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidInputError('limit must be a whole number from 1 to 1000');
    out.limit = n;
  }
  if (q.nextToken !== undefined) {
    if (q.nextToken === '' || q.nextToken.length > 3096) throw new InvalidInputError('nextToken must be the nextToken of an earlier answer');
    out.nextToken = q.nextToken;
  }
  if (q.kind !== undefined) {
    if (q.kind !== 'transfer' && q.kind !== 'bulk') throw new InvalidInputError('kind must be "transfer" or "bulk"');
    out.kind = q.kind;
  }
  return out;
}

export interface TransferListEntry {
  name: string;
  executionArn: string;
  status: string;
  startDate?: string;
  stopDate?: string;
}

/** Recent executions, newest first, of the transfer (or, kind=bulk, the bulk) state machine. */
export async function listTransfers(deps: StatusDeps, query: ListQuery): Promise<{ transfers: TransferListEntry[]; nextToken?: string }> {
  const stateMachineArn = query.kind === 'bulk' ? deps.bulkStateMachineArn : deps.stateMachineArn;
  if (stateMachineArn === undefined) throw new InvalidInputError(query.kind === 'bulk' ? 'kind=bulk: this deployment has no bulk state machine' : 'no transfer state machine is known here');
  let out: ListExecutionsCommandOutput;
  try {
    out = await withinRequestBudget(`ListExecutions ${stateMachineArn}`, undefined, (abortSignal) =>
      deps.sfn.send(
        new ListExecutionsCommand({
          stateMachineArn,
          maxResults: query.limit ?? 20,
          ...(query.status ? { statusFilter: query.status } : {}),
          ...(query.nextToken ? { nextToken: query.nextToken } : {}),
        }),
        { abortSignal },
      ),
    );
  } catch (err) {
    if ((err as { name?: string }).name === 'InvalidToken') throw new InvalidInputError('nextToken is not valid (expired, or from another query)');
    throw err;
  }
  return {
    transfers: (out.executions ?? []).map((e) => ({
      name: e.name ?? '',
      executionArn: e.executionArn ?? '',
      status: e.status ?? '',
      ...(e.startDate ? { startDate: iso(e.startDate) } : {}),
      ...(e.stopDate ? { stopDate: iso(e.stopDate) } : {}),
    })),
    ...(out.nextToken ? { nextToken: out.nextToken } : {}),
  };
}
