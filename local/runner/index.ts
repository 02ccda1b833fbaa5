// The local runner: the real state machine (statemachine/transfer.asl.yml) run by aws-local-stepfunctions,
// every Task state bound to the real Lambda handler (functions/, makeTaskHandlers) with the dependencies
// given: S3 through s3rver or real S3, Box through the emulator or real Box.
//
//   const output = await runTransfer(input, { deps, onEvent });            // TransferOutput, or throws
//   const run = startTransfer(input, { deps });  await run.result;  (await run.history).awsEventCount

import { makeTaskHandlers } from '../../functions/index.ts';
import type { HandlerDeps } from '../../functions/index.ts';
import type { TransferInput, TransferOutput } from '../../src/transfer/contract.ts';
import { startExecution } from './execution.ts';
import type { ExecutionOptions, TaskHandlers, TransferExecution } from './execution.ts';

export interface RunTransferOptions extends Omit<ExecutionOptions, 'handlers'> {
  /** What the Lambdas run with: S3 client, Box client factory, logger, settings. */
  deps: HandlerDeps;
  /** Replace some of the real handlers (tests: wrap one to count calls or inject a failure). */
  handlers?: Partial<TaskHandlers>;
}

/** Start one local execution; see TransferExecution for the result, the history and abort(). */
export function startTransfer(input: TransferInput, options: RunTransferOptions): TransferExecution {
  const { deps, handlers, ...rest } = options;
  const real: TaskHandlers = makeTaskHandlers(deps);
  const merged: TaskHandlers = { ...real };
  for (const [name, handler] of Object.entries(handlers ?? {})) if (handler) merged[name] = handler;
  return startExecution(input, { ...rest, handlers: merged });
}

/** Run one transfer to its end: the execution's output, or a TransferExecutionError (name = Error, message = Cause). */
export function runTransfer(input: TransferInput, options: RunTransferOptions): Promise<TransferOutput> {
  return startTransfer(input, options).result;
}

export { startExecution, TransferAbortedError, TransferExecutionError, LambdaTimeoutError } from './execution.ts';
export type {
  ExecutionOptions,
  LambdaContextLike,
  LocalLambdaContext,
  TaskHandler,
  TaskHandlers,
  TransferEvent,
  TransferExecution,
} from './execution.ts';
export { awsHistoryEventsFor, HistoryRecorder, jsonBytes } from './history.ts';
export type { ExecutionHistory, LocalEvent } from './history.ts';
export { DEFINITION_PATH, TASK_STATE_NAMES, loadLocalDefinition, readDefinitionFile, resolveGetAtt, fakeLambdaArn } from './definition.ts';
export type { LocalDefinition, TaskStateInfo, TaskStateName } from './definition.ts';
export { startLocalS3, localS3Client, ensureBucket, putGeneratedObject, generatedBytes, LOCAL_S3_CREDENTIALS } from './local-s3.ts';
export type { LocalS3, StartLocalS3Options, GeneratedObject } from './local-s3.ts';
export type { HandlerDeps };
