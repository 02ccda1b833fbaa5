// Runs the bulk state machine (statemachine/bulk.asl.yml) locally: the parent through the local runner
// with each Distributed Map emulated (distributed-map.ts), each child workflow (a batch) as an execution
// of the Map's ItemProcessor, and each `startExecution.sync:2` Task as a real nested execution of the
// transfer state machine (statemachine/transfer.asl.yml) run by the same runner. Every Task state is bound
// to the real Lambda handler. Every execution's history is counted as AWS would count it.
//
//   const summary = await runSync(input, { deps });          // SyncSummary, or throws TransferExecutionError
import { randomUUID } from 'node:crypto';
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { makeBulkHandlers } from '../../functions/index.ts';
import type { BulkFunctionKey, HandlerDeps } from '../../functions/index.ts';
import type { ObjectResult, SyncBatchResult, SyncSummary, BatchOutput } from '../../src/bulk/contract.ts';
import type { TransferInput } from '../../src/transfer/contract.ts';
import { LOCAL_BULK_STATE_MACHINE, LOCAL_DISTRIBUTED_MAP_RESOURCE, LOCAL_TRANSFER_STATE_MACHINE_ARN, START_EXECUTION_SYNC, loadBulkDefinition } from './bulk-definition.ts';
import type { LocalBulkDefinition } from './bulk-definition.ts';
import { DistributedMapError, runDistributedMap } from './distributed-map.ts';
import { startExecution, TransferExecutionError } from './execution.ts';
import type { ExecutionOptions, TaskHandler, TaskHandlers, TransferEvent, TransferExecution } from './execution.ts';
import type { ExecutionHistory } from './history.ts';
import type { NestedTransfers } from '../../src/bulk/nested.ts';
import { awsHistoryEvents, historyPage } from '../sfn/history.ts';
import { loadLocalDefinition } from './definition.ts';
import { startTransfer } from './index.ts';

/** Progress of a bulk run, for a live display or a test. */
export type SyncEvent =
  | { type: 'listed'; objects: number; bytes: number }
  | { type: 'objects'; results: ObjectResult[] }
  | { type: 'handed-over'; objects: number }
  | { type: 'bytes'; bytes: number }
  | { type: 'child-failed'; error: string; cause: string };

/** History budgets of every execution a run made (AWS: 25,000 events per Standard execution). */
export interface SyncHistory {
  parent: ExecutionHistory;
  /** Per child workflow (batch): AWS history events. */
  children: number[];
  /** Per nested transfer execution. */
  transfers: number[];
  /** The largest count of any execution above. */
  maxEvents: number;
  /** The largest state payload of any execution, in bytes. */
  maxPayloadBytes: number;
}

export interface RunSyncOptions {
  deps: HandlerDeps;
  executionName?: string;
  onEvent?: (event: SyncEvent) => void;
  /** As for transfers: 0 = no Wait/Retry waiting (tests). */
  waitTimeScale?: number;
  /** For the nested transfer executions (e.g. a short HashObject limit). */
  lambdaTimeoutMs?: ExecutionOptions['lambdaTimeoutMs'];
  /** Replace some Lambdas by function key (tests). */
  handlers?: Partial<Record<BulkFunctionKey, TaskHandler>>;
  /** Replace some transfer Lambdas by state name (tests). */
  transferHandlers?: Partial<TaskHandlers>;
  definition?: LocalBulkDefinition;
  signal?: AbortSignal;
}

/** Items (listed objects) or child executions (batches) of a Map Run, by state, as DescribeMapRun counts them. */
export interface MapRunCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  total: number;
  resultsWritten: number;
}

/** One Distributed Map run of a bulk run, as ListMapRuns/DescribeMapRun report it. */
export interface LocalMapRun {
  mapRunArn: string;
  executionArn: string;
  /** As AWS names it: the bulk state machine's ARN with `/<Map state name>`. */
  stateMachineArn: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: Date;
  stopDate?: Date;
  /** Items are the listed objects; 0 of each until the listing is done. */
  itemCounts: MapRunCounts;
  /** Child executions started so far (their number is not known before the batches are made: pending stays 0). */
  executionCounts: MapRunCounts;
}

export interface SyncExecution {
  executionName: string;
  executionArn: string;
  result: Promise<SyncSummary>;
  history: Promise<SyncHistory>;
  /** The parent's events so far (the local Step Functions API's GetExecutionHistory). */
  eventsSoFar: TransferExecution['eventsSoFar'];
  /** Settles once the run has ended, every execution it started has been counted, and their last invocations have returned. */
  idle: Promise<void>;
  /** Its Distributed Map runs so far, with live counts (copies). */
  mapRuns(): LocalMapRun[];
  abort(): void;
}

const zeroCounts = (): MapRunCounts => ({ pending: 0, running: 0, succeeded: 0, failed: 0, timedOut: 0, aborted: 0, total: 0, resultsWritten: 0 });

export function startSync(input: unknown, options: RunSyncOptions): SyncExecution {
  const local = options.definition ?? loadBulkDefinition();
  // Loaded once: every nested transfer runs the same (validated once) definition.
  const transferDefinition = loadLocalDefinition();
  const executionName = options.executionName ?? `sync-${randomUUID()}`;
  const controller = new AbortController();
  if (options.signal) {
    if (options.signal.aborted) controller.abort();
    else options.signal.addEventListener('abort', () => controller.abort(), { once: true });
  }
  const emit = (event: SyncEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken progress display must not break the run.
    }
  };
  // Nested transfer executions by name, for Summarize (as it reads them from the Step Functions API in AWS).
  const nestedRuns = new Map<string, NestedRecord>();
  const nested = localNestedTransfers(nestedRuns);
  const bulk = { ...makeBulkHandlers(options.deps, () => nested), ...options.handlers } as Record<BulkFunctionKey, TaskHandler>;
  const children: number[] = [];
  const transfers: number[] = [];
  const pending: Promise<unknown>[] = [];
  const mapRuns: LocalMapRun[] = [];
  let maxPayloadBytes = 0;

  const byFunctionKey = (functionKey: string): TaskHandler => {
    const handler = bulk[functionKey as BulkFunctionKey];
    if (handler === undefined) throw new Error(`No local handler for the Lambda ${functionKey}`);
    return handler;
  };

  // Nested transfer executions (startExecution.sync:2): the Task's Parameters are {StateMachineArn, Name, Input}.
  // A nested transfer stops with the child workflow that started it (the child's signal), as in AWS.
  const runNestedTransfer = (signal: AbortSignal): TaskHandler => async (event: { StateMachineArn?: string; Input?: TransferInput; Name?: string }) => {
    if (event.StateMachineArn !== LOCAL_TRANSFER_STATE_MACHINE_ARN) {
      throw new DistributedMapError('StepFunctions.StateMachineDoesNotExistException', `no local state machine ${String(event.StateMachineArn)}`);
    }
    const name = event.Name ?? randomUUID();
    // StartExecution's rule for a name already used (src/bulk/nested.ts names them from the run and the key).
    if (nestedRuns.has(name)) throw new DistributedMapError('StepFunctions.ExecutionAlreadyExistsException', `Execution Already Exists: '${name}'`);
    const startDate = Date.now();
    const run = startTransfer(event.Input as TransferInput, {
      deps: options.deps,
      executionName: name,
      definition: transferDefinition,
      // Its events are kept while it runs, and after it failed or was stopped (what Summarize reads then).
      keepEvents: true,
      signal,
      ...(options.waitTimeScale !== undefined ? { waitTimeScale: options.waitTimeScale } : {}),
      ...(options.lambdaTimeoutMs !== undefined ? { lambdaTimeoutMs: options.lambdaTimeoutMs } : {}),
      ...(options.transferHandlers !== undefined ? { handlers: options.transferHandlers } : {}),
      onEvent: (e: TransferEvent) => {
        if (e.type === 'batch-done') emit({ type: 'bytes', bytes: e.bytes });
      },
    });
    const record: NestedRecord = { input: JSON.stringify(event.Input), status: 'RUNNING', run };
    nestedRuns.set(name, record);
    const counted = run.history.then((h) => {
      transfers.push(h.awsEventCount);
      maxPayloadBytes = Math.max(maxPayloadBytes, h.maxPayloadBytes);
    });
    // The run is idle only once the transfer's last invocation has returned (a running Lambda outlives a stop).
    pending.push(counted, run.idle);
    const describe = {
      ExecutionArn: run.executionArn,
      Input: JSON.stringify(event.Input),
      InputDetails: { Included: true },
      Name: name,
      StartDate: startDate,
      StateMachineArn: LOCAL_TRANSFER_STATE_MACHINE_ARN,
    };
    try {
      const output = await run.result;
      await counted;
      // A finished transfer's events are not needed any more.
      Object.assign(record, { status: 'SUCCEEDED', output: JSON.stringify(output), run: undefined });
      return { ...describe, Output: output, OutputDetails: { Included: true }, Status: 'SUCCEEDED', StopDate: Date.now() };
    } catch (err) {
      await counted;
      if (err instanceof TransferExecutionError) Object.assign(record, { status: 'FAILED', error: err.error, cause: err.cause });
      else record.status = 'ABORTED';
      if (!(err instanceof TransferExecutionError)) throw err;
      // As Step Functions reports a failed child of a .sync Task: States.TaskFailed, the DescribeExecution as Cause.
      throw new DistributedMapError('States.TaskFailed', JSON.stringify({ ...describe, Error: err.error, Cause: err.cause, Status: 'FAILED', StopDate: Date.now() }));
    }
  };

  const childHandlers = (mapName: string, signal: AbortSignal): TaskHandlers => {
    const spec = local.maps.get(mapName);
    if (spec === undefined) throw new Error(`no Distributed Map ${mapName}`);
    const handlers: TaskHandlers = {};
    for (const task of spec.processor.tasks.values()) {
      if (task.resource === START_EXECUTION_SYNC) handlers[task.name] = runNestedTransfer(signal);
      else {
        const handler = byFunctionKey(task.functionKey);
        handlers[task.name] =
          task.functionKey === 'syncBatch'
            ? async (event, context) => {
                const result = (await handler(event, context)) as SyncBatchResult;
                emit({ type: 'objects', results: result.results });
                if (result.transfers.length > 0) emit({ type: 'handed-over', objects: result.transfers.length });
                return result;
              }
            : task.functionKey === 'finishBatch'
              ? async (event: { results?: unknown[] }, context) => {
                  const result = (await handler(event, context)) as BatchOutput;
                  emit({ type: 'objects', results: result.results.slice(event.results?.length ?? 0) });
                  return result;
                }
              : handler;
      }
    }
    return handlers;
  };

  const parentHandlers: TaskHandlers = {};
  for (const task of local.parent.tasks.values()) {
    if (task.resource !== LOCAL_DISTRIBUTED_MAP_RESOURCE) {
      parentHandlers[task.name] = byFunctionKey(task.functionKey);
      continue;
    }
    const spec = local.maps.get(task.name);
    if (spec === undefined) throw new Error(`no Distributed Map ${task.name}`);
    parentHandlers[task.name] = async (stateInput: unknown) => {
      const mapRunArn = `arn:aws:states:us-east-1:123456789012:mapRun:${LOCAL_BULK_STATE_MACHINE}/${task.name}:${randomUUID()}`;
      const mapRun: LocalMapRun = {
        mapRunArn,
        executionArn: parent.executionArn,
        stateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:${LOCAL_BULK_STATE_MACHINE}/${task.name}`,
        status: 'RUNNING',
        startDate: new Date(),
        itemCounts: zeroCounts(),
        executionCounts: zeroCounts(),
      };
      mapRuns.push(mapRun);
      const { itemCounts: items, executionCounts: batches } = mapRun;
      const ran = runDistributedMap({
        s3: options.deps.s3,
        spec,
        input: stateInput,
        mapRunArn,
        signal: controller.signal,
        onListed: (listed) => {
          items.total = items.pending = listed.length;
          emit({ type: 'listed', objects: listed.length, bytes: listed.reduce<number>((n, i) => n + (Number((i as { Size?: unknown }).Size ?? (i as { size?: unknown }).size) || 0), 0) });
        },
        runChild: (childInput, index, signal) => {
          // A batch's items move together: pending -> running -> succeeded/failed/aborted.
          const batchItems = (childInput as { Items?: unknown }).Items;
          const n = Array.isArray(batchItems) ? batchItems.length : 1;
          items.pending -= n;
          items.running += n;
          batches.total += 1;
          batches.running += 1;
          const name = `${executionName}-${task.name}-${index}`;
          const child = startExecution(childInput as TransferInput, {
            handlers: childHandlers(task.name, signal),
            definition: spec.processor,
            executionName: name,
            stateMachineName: `${LOCAL_BULK_STATE_MACHINE}/${task.name}`,
            keepEvents: false,
            signal,
            ...(options.waitTimeScale !== undefined ? { waitTimeScale: options.waitTimeScale } : {}),
          });
          const counted = child.history.then((h) => {
            children.push(h.awsEventCount);
            maxPayloadBytes = Math.max(maxPayloadBytes, h.maxPayloadBytes);
          });
          pending.push(counted);
          const result = child.result.catch((err: unknown) => {
            if (err instanceof TransferExecutionError) emit({ type: 'child-failed', error: err.error, cause: err.cause });
            throw err;
          });
          void result.then(
            () => {
              items.running -= n;
              items.succeeded += n;
              batches.running -= 1;
              batches.succeeded += 1;
            },
            (err: unknown) => {
              const outcome = err instanceof TransferExecutionError ? 'failed' : 'aborted';
              items.running -= n;
              items[outcome] += n;
              batches.running -= 1;
              batches[outcome] += 1;
            },
          );
          return { executionArn: child.executionArn, name, stateMachineArn: mapRun.stateMachineArn, result };
        },
      });
      const ended = (status: LocalMapRun['status']): void => {
        Object.assign(mapRun, { status, stopDate: new Date() });
        items.resultsWritten = items.succeeded + items.failed + items.aborted;
        batches.resultsWritten = batches.succeeded + batches.failed + batches.aborted;
      };
      void ran.then(
        () => ended('SUCCEEDED'),
        () => ended(controller.signal.aborted ? 'ABORTED' : 'FAILED'),
      );
      return ran;
    };
  }

  const parent = startExecution(input as TransferInput, {
    handlers: parentHandlers,
    definition: local.parent,
    executionName,
    stateMachineName: LOCAL_BULK_STATE_MACHINE,
    signal: controller.signal,
    ...(options.waitTimeScale !== undefined ? { waitTimeScale: options.waitTimeScale } : {}),
  });
  const history = (async (): Promise<SyncHistory> => {
    const parentHistory = await parent.history;
    await Promise.allSettled(pending);
    const all = [parentHistory.awsEventCount, ...children, ...transfers];
    return {
      parent: parentHistory,
      children,
      transfers,
      maxEvents: Math.max(...all),
      maxPayloadBytes: Math.max(maxPayloadBytes, parentHistory.maxPayloadBytes),
    };
  })();
  const result = parent.result as unknown as Promise<SyncSummary>;
  result.catch(() => undefined);
  return {
    executionName,
    executionArn: parent.executionArn,
    result,
    history,
    eventsSoFar: () => parent.eventsSoFar(),
    idle: history.then(
      () => undefined,
      () => undefined,
    ),
    mapRuns: () => mapRuns.map((r) => ({ ...r, itemCounts: { ...r.itemCounts }, executionCounts: { ...r.executionCounts } })),
    abort: () => controller.abort(),
  };
}

/** A nested transfer execution of a local bulk run, as DescribeExecution and GetExecutionHistory tell it. */
interface NestedRecord {
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: string;
  error?: string;
  cause?: string;
  /** Until it succeeded: its events. */
  run?: TransferExecution;
}

/**
 * What Summarize reads of the nested transfers in AWS (DescribeExecution, GetExecutionHistory of the transfer
 * state machine's executions), answered from this run's own executions in the shapes the SDK returns.
 */
function localNestedTransfers(runs: Map<string, NestedRecord>): NestedTransfers {
  const prefix = `${LOCAL_TRANSFER_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:`;
  const find = (executionArn: unknown): NestedRecord => {
    const record = typeof executionArn === 'string' && executionArn.startsWith(prefix) ? runs.get(executionArn.slice(prefix.length)) : undefined;
    if (record === undefined) throw Object.assign(new Error(`Execution Does Not Exist: '${String(executionArn)}'`), { name: 'ExecutionDoesNotExist' });
    return record;
  };
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof DescribeExecutionCommand) {
      const r = find(command.input.executionArn);
      return { executionArn: command.input.executionArn, status: r.status, input: r.input, output: r.output, error: r.error, cause: r.cause };
    }
    if (command instanceof GetExecutionHistoryCommand) {
      const r = find(command.input.executionArn);
      const all = awsHistoryEvents(r.run?.eventsSoFar() ?? [], 'arn:aws:iam::123456789012:role/s3-to-box-local');
      const page = historyPage(all, command.input);
      return { ...page, events: page.events.map((e) => ({ ...e, timestamp: new Date(e.timestamp * 1000) })) };
    }
    throw new Error(`the local runner answers only DescribeExecution and GetExecutionHistory, not ${(command as object).constructor.name}`);
  };
  return { stateMachineArn: LOCAL_TRANSFER_STATE_MACHINE_ARN, sfn: { send } as unknown as NestedTransfers['sfn'] };
}

/** Run a bulk sync to its end: its SyncSummary, or a TransferExecutionError (name = Error, message = Cause). */
export function runSync(input: unknown, options: RunSyncOptions): Promise<SyncSummary> {
  return startSync(input, options).result;
}

