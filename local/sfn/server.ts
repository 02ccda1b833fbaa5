// A local stand-in for the Step Functions API, for the startTransfer trigger: a loopback HTTP server
// speaking the AWS JSON 1.0 protocol (POST / with `X-Amz-Target: AWSStepFunctions.<Operation>` and
// `Content-Type: application/x-amz-json-1.0`) that runs every started execution with the local runner,
// i.e. the real state machine definition and the real task handlers. The real @aws-sdk/client-sfn talks
// to it through `endpoint`.
//
// A user's stop aborts the Box session as in AWS: once StopExecution has stopped an execution, the real
// AbortOnStop handler (functions/abortOnStop.ts) runs with the event EventBridge would deliver, and reads
// the execution's history from this same API (GetExecutionHistory); StopExecution answers after it.
//
// Operations: StartExecution, DescribeExecution, StopExecution, GetExecutionHistory, ListExecutions (newest
// first, statusFilter, maxResults, nextToken; finished executions are kept while the server runs),
// DescribeStateMachine (the definition as deployed, with local Lambda ARNs), ListMapRuns and DescribeMapRun
// (a bulk run's Distributed Map: live item counts; child executions are counted as they start, so
// executionCounts.pending stays 0).
//
// Two state machines: the transfer one (LOCAL_STATE_MACHINE_ARN) and the bulk one
// (LOCAL_BULK_STATE_MACHINE_ARN, run by local/runner/bulk.ts, its Distributed Map emulated). Names are
// unique per state machine, as in AWS.
// StartExecution follows AWS's rules for
// names (API reference, StartExecution `name`): a name already used starts nothing; while that execution
// is running, the same input answers 200 with the first execution's ARN and start date (idempotent) and
// another input answers ExecutionAlreadyExists; once it has ended, any input answers ExecutionAlreadyExists.
// The HTTP plumbing is local/aws-json/server.ts; requests are not authenticated: loopback and tests only.
import { randomUUID } from 'node:crypto';
import type { TransferInput } from '../../src/transfer/contract.ts';
import { MAX_EXECUTION_NAME_LENGTH } from '../../src/trigger/names.ts';
import { SFNClient } from '@aws-sdk/client-sfn';
import { makeAbortOnStopHandler } from '../../functions/abortOnStop.ts';
import type { AbortOnStopResult } from '../../src/transfer/stop.ts';
import { TransferAbortedError, TransferExecutionError, startTransfer } from '../runner/index.ts';
import type { HandlerDeps, RunTransferOptions, TransferExecution } from '../runner/index.ts';
import { startSync } from '../runner/bulk.ts';
import type { LocalMapRun } from '../runner/bulk.ts';
import { resolvedBulkDefinition } from '../runner/bulk-definition.ts';
import { fakeLambdaArn, readDefinitionFile, resolveGetAtt } from '../runner/definition.ts';
import { awsHistoryEvents, historyPage } from './history.ts';
import { AwsJsonError as ApiError, startAwsJsonServer } from '../aws-json/server.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface LocalExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  /** The input as StartExecution gave it (a JSON string). */
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  /** JSON string, once SUCCEEDED. */
  output?: string;
  error?: string;
  cause?: string;
  /** Settles when the execution ends, after a stop once AbortOnStop has run (never rejects). */
  done: Promise<void>;
  /**
   * Settles once the execution has ended and its last Lambda invocation has returned: after a stop, an
   * invocation already running runs to its end, as in AWS.
   */
  idle: Promise<void>;
  /** After StopExecution: what AbortOnStop did with the Box session (or the error it threw). */
  abortOnStop?: AbortOnStopResult | { error: string; message: string };
}

export interface LocalStepFunctionsOptions {
  /** What the task Lambdas run with (S3 client, Box client factory, logger, settings). */
  deps: HandlerDeps;
  /** Options for every execution (e.g. `waitTimeScale: 0`); `deps` and `executionName` are set here. */
  run?: Omit<Partial<RunTransferOptions>, 'deps' | 'executionName'>;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Run AbortOnStop after StopExecution, as the deployed EventBridge rule does (default true). */
  abortOnStop?: boolean;
}

export interface LocalStepFunctions {
  /** e.g. http://127.0.0.1:41234: give it to SFNClient as `endpoint`. */
  endpoint: string;
  /** The transfer state machine's ARN (StartExecution accepts it and bulkStateMachineArn). */
  stateMachineArn: string;
  /** The bulk state machine's ARN (statemachine/bulk.asl.yml, run by local/runner/bulk.ts). */
  bulkStateMachineArn: string;
  /** Every execution started so far, oldest first. */
  executions(): LocalExecutionRecord[];
  /** StartExecution calls received, by outcome. */
  stats(): { startCalls: number; started: number; idempotentRepeats: number; alreadyExists: number };
  /**
   * Makes every StartExecution answer this error (e.g. `{ code: 'ServiceUnavailable', status: 503 }`)
   * until called with undefined: a Step Functions that keeps failing.
   */
  failStartExecution(answer: { code: string; status: number } | undefined): void;
  /** Stops running executions (ABORTED), waits for them, and closes the server. */
  close(): Promise<void>;
}

// The local runner's state machine (local/runner/execution.ts): executions it starts get ARNs under it.
export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:s3-to-box-local';
// The bulk runner's state machine (local/runner/bulk.ts): its runs' ARNs are under it.
const LOCAL_BULK_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:s3-to-box-bulk-local';

/** What the server needs of a running execution, transfer or bulk. */
interface LocalRun {
  executionArn: string;
  result: Promise<unknown>;
  idle: Promise<void>;
  eventsSoFar: TransferExecution['eventsSoFar'];
  abort(): void;
  mapRuns?: () => LocalMapRun[];
}
const TARGET_PREFIX = 'AWSStepFunctions.';
const MAX_INPUT_BYTES = 256 * 1024;
// StartExecution `name`: 1-80 characters, none of: whitespace, < > { } [ ], ? *, " # % \ ^ | ~ ` $ & , ; : /, control characters.
// eslint-disable-next-line no-control-regex -- control characters are exactly what AWS refuses
const INVALID_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function requireString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw new ApiError('ValidationException', `1 validation error detected: '${field}' must not be null`);
  return v;
}

export async function startLocalStepFunctions(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
  const byArn = new Map<string, LocalExecutionRecord & { run: LocalRun }>();
  const byName = new Map<string, string>();
  const counts = { startCalls: 0, started: 0, idempotentRepeats: 0, alreadyExists: 0 };
  let startFault: { code: string; status: number } | undefined;
  // This API itself, for AbortOnStop's GetExecutionHistory (set once the server listens).
  const self: { client?: SFNClient } = {};
  const abortOnStop = makeAbortOnStopHandler(options.deps, () => {
    if (self.client === undefined) throw new Error('the local Step Functions API is not listening');
    return self.client;
  });
  const stoppedByUser = new Set<string>();

  function start(body: Record<string, unknown>): unknown {
    counts.startCalls += 1;
    if (startFault !== undefined) throw new ApiError(startFault.code, `${startFault.code} (injected)`, startFault.status);
    const stateMachineArn = machineOf(body);
    const name = body.name === undefined ? randomUUID() : requireString(body, 'name');
    if (name.length > MAX_EXECUTION_NAME_LENGTH || INVALID_NAME_CHARS.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
    const input = body.input === undefined ? '{}' : body.input;
    if (typeof input !== 'string') throw new ApiError('SerializationException', "'input' must be a string");
    if (Buffer.byteLength(input, 'utf8') > MAX_INPUT_BYTES) throw new ApiError('InvalidExecutionInput', 'Input exceeds 262144 bytes');
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new ApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON');
    }

    const existingArn = byName.get(`${stateMachineArn}|${name}`);
    if (existingArn !== undefined) {
      const existing = byArn.get(existingArn);
      if (existing && existing.status === 'RUNNING' && existing.input === input) {
        counts.idempotentRepeats += 1;
        return { executionArn: existing.executionArn, startDate: epochSeconds(existing.startDate) };
      }
      counts.alreadyExists += 1;
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${existingArn}'`);
    }

    const run: LocalRun =
      stateMachineArn === LOCAL_BULK_STATE_MACHINE_ARN
        ? startSync(parsed, {
            deps: options.deps,
            executionName: name,
            ...(options.run?.waitTimeScale !== undefined ? { waitTimeScale: options.run.waitTimeScale } : {}),
            ...(options.run?.lambdaTimeoutMs !== undefined ? { lambdaTimeoutMs: options.run.lambdaTimeoutMs } : {}),
          })
        : startTransfer(parsed as TransferInput, { ...options.run, deps: options.deps, executionName: name });
    const record: LocalExecutionRecord & { run: LocalRun } = {
      executionArn: run.executionArn,
      stateMachineArn,
      name,
      input,
      status: 'RUNNING' as ExecutionStatus,
      startDate: new Date(),
      run,
      done: Promise.resolve(),
      idle: run.idle,
    };
    record.done = run.result.then(
      (output) => {
        Object.assign(record, { status: 'SUCCEEDED', output: JSON.stringify(output), stopDate: new Date() });
      },
      async (err: unknown) => {
        if (err instanceof TransferAbortedError) {
          Object.assign(record, { status: 'ABORTED', stopDate: new Date() });
          // The deployed stop rule matches the transfer state machine only (a bulk run holds no session).
          if (stoppedByUser.has(record.executionArn) && options.abortOnStop !== false && stateMachineArn === LOCAL_STATE_MACHINE_ARN) {
            // What EventBridge delivers for the status change; the handler reads the history from this API.
            const event = {
              source: 'aws.states',
              'detail-type': 'Step Functions Execution Status Change',
              detail: { executionArn: record.executionArn, stateMachineArn: LOCAL_STATE_MACHINE_ARN, name, status: 'ABORTED' },
            };
            const context = { awsRequestId: randomUUID(), functionName: 's3-to-box-local-abortOnStop', getRemainingTimeInMillis: () => 30_000 };
            record.abortOnStop = await abortOnStop(event, context).catch((e: unknown) => ({
              error: e instanceof Error ? e.name : 'Error',
              message: e instanceof Error ? e.message : String(e),
            }));
          }
        }
        else if (err instanceof TransferExecutionError) Object.assign(record, { status: 'FAILED', error: err.error, cause: err.cause, stopDate: new Date() });
        else Object.assign(record, { status: 'FAILED', error: 'States.Runtime', cause: String(err), stopDate: new Date() });
      },
    );
    byArn.set(record.executionArn, record);
    byName.set(`${stateMachineArn}|${name}`, record.executionArn);
    counts.started += 1;
    return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
  }

  function machineOf(body: Record<string, unknown>): string {
    const stateMachineArn = requireString(body, 'stateMachineArn');
    if (stateMachineArn !== LOCAL_STATE_MACHINE_ARN && stateMachineArn !== LOCAL_BULK_STATE_MACHINE_ARN) {
      throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    }
    return stateMachineArn;
  }

  function find(body: Record<string, unknown>): LocalExecutionRecord & { run: LocalRun } {
    const arn = requireString(body, 'executionArn');
    const record = byArn.get(arn);
    if (!record) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  }

  function describe(body: Record<string, unknown>): unknown {
    const r = find(body);
    return {
      executionArn: r.executionArn,
      stateMachineArn: r.stateMachineArn,
      name: r.name,
      status: r.status,
      startDate: epochSeconds(r.startDate),
      ...(r.stopDate ? { stopDate: epochSeconds(r.stopDate) } : {}),
      input: r.input,
      inputDetails: { included: true },
      ...(r.output !== undefined ? { output: r.output, outputDetails: { included: true } } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.cause !== undefined ? { cause: r.cause } : {}),
    };
  }

  async function stop(body: Record<string, unknown>): Promise<unknown> {
    const r = find(body);
    if (r.status === 'RUNNING') {
      stoppedByUser.add(r.executionArn);
      r.run.abort();
      await r.done;
    }
    return { stopDate: epochSeconds(r.stopDate ?? new Date()) };
  }

  // Pages are offsets into the list, as opaque tokens.
  const token = (offset: number): string => Buffer.from(JSON.stringify({ offset })).toString('base64url');
  function offsetOf(body: Record<string, unknown>): number {
    if (body.nextToken === undefined) return 0;
    try {
      const { offset } = JSON.parse(Buffer.from(String(body.nextToken), 'base64url').toString('utf8')) as { offset?: unknown };
      if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
    } catch {
      // falls through
    }
    throw new ApiError('InvalidToken', 'Invalid Token');
  }
  function maxResultsOf(body: Record<string, unknown>, fallback: number): number {
    const max = body.maxResults === undefined ? fallback : body.maxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1000) throw new ApiError('ValidationException', "'maxResults' must be between 0 and 1000");
    return max === 0 ? fallback : max;
  }

  function list(body: Record<string, unknown>): unknown {
    const stateMachineArn = machineOf(body);
    const offset = offsetOf(body);
    const max = maxResultsOf(body, 100);
    const all = [...byArn.values()].filter((r) => r.stateMachineArn === stateMachineArn && (body.statusFilter === undefined || r.status === body.statusFilter)).reverse();
    const page = all.slice(offset, offset + max);
    return {
      executions: page.map((r) => ({
        executionArn: r.executionArn,
        stateMachineArn: r.stateMachineArn,
        name: r.name,
        status: r.status,
        startDate: epochSeconds(r.startDate),
        ...(r.stopDate ? { stopDate: epochSeconds(r.stopDate) } : {}),
      })),
      ...(offset + max < all.length ? { nextToken: token(offset + max) } : {}),
    };
  }

  function history(body: Record<string, unknown>): unknown {
    const r = find(body);
    return historyPage(awsHistoryEvents(r.run.eventsSoFar(), `arn:aws:iam::123456789012:role/s3-to-box-local`), body);
  }

  const createdAt = new Date();
  function describeStateMachine(body: Record<string, unknown>): unknown {
    const stateMachineArn = machineOf(body);
    const bulk = stateMachineArn === LOCAL_BULK_STATE_MACHINE_ARN;
    const definition = bulk ? resolvedBulkDefinition() : resolveGetAtt(readDefinitionFile(), (key) => fakeLambdaArn(key));
    const name = stateMachineArn.split(':')[6] ?? '';
    return {
      stateMachineArn,
      name,
      status: 'ACTIVE',
      definition: JSON.stringify(definition),
      roleArn: `arn:aws:iam::123456789012:role/${name}`,
      type: 'STANDARD',
      creationDate: epochSeconds(createdAt),
    };
  }

  // Map Runs: only a bulk run has any (one per Distributed Map state it entered). One page.
  function listMapRuns(body: Record<string, unknown>): unknown {
    const r = find(body);
    return {
      mapRuns: (r.run.mapRuns?.() ?? []).reverse().map((m) => ({
        executionArn: m.executionArn,
        mapRunArn: m.mapRunArn,
        stateMachineArn: m.stateMachineArn,
        startDate: epochSeconds(m.startDate),
        ...(m.stopDate ? { stopDate: epochSeconds(m.stopDate) } : {}),
      })),
    };
  }

  function describeMapRun(body: Record<string, unknown>): unknown {
    const arn = requireString(body, 'mapRunArn');
    for (const r of byArn.values()) {
      const m = r.run.mapRuns?.().find((run) => run.mapRunArn === arn);
      if (m === undefined) continue;
      return {
        mapRunArn: m.mapRunArn,
        executionArn: m.executionArn,
        status: m.status,
        startDate: epochSeconds(m.startDate),
        ...(m.stopDate ? { stopDate: epochSeconds(m.stopDate) } : {}),
        itemCounts: m.itemCounts,
        executionCounts: m.executionCounts,
      };
    }
    throw new ApiError('ResourceNotFound', `Resource not found: '${arn}'`);
  }

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    StartExecution: start,
    DescribeExecution: describe,
    StopExecution: stop,
    ListExecutions: list,
    DescribeStateMachine: describeStateMachine,
    GetExecutionHistory: history,
    ListMapRuns: listMapRuns,
    DescribeMapRun: describeMapRun,
  };

  const server = await startAwsJsonServer(
    {
      targetPrefix: TARGET_PREFIX,
      operations,
      unknownOperationCode: 'UnknownOperationException',
      malformedBodyCode: 'SerializationException',
      requireJsonContentType: true,
      errorAnswer: (err) =>
        err instanceof ApiError
          ? { status: err.status, body: { __type: `com.amazonaws.swf.service.v2.model#${err.code}`, message: err.message } }
          : { status: 500, body: { __type: 'InternalFailure', message: err instanceof Error ? err.message : String(err) } },
    },
    options,
  );
  self.client = new SFNClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  return {
    endpoint: server.endpoint,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    bulkStateMachineArn: LOCAL_BULK_STATE_MACHINE_ARN,
    executions: () => [...byArn.values()].map(({ run: _run, ...record }) => record),
    stats: () => ({ ...counts }),
    failStartExecution(answer) {
      startFault = answer;
    },
    async close() {
      for (const record of byArn.values()) if (record.status === 'RUNNING') record.run.abort();
      await Promise.all([...byArn.values()].map((r) => r.done));
      self.client?.destroy();
      await server.close();
    },
  };
}
