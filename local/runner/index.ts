// The local runner: the real state machine (statemachine/transfer.asl.yml) run by aws-local-stepfunctions,
// every Task state bound to the real Lambda handler (functions/, makeTaskHandlers) with the dependencies
// given: S3 through s3rver or real S3, Box through the emulator or real Box.
//
//   const output = await runTransfer(input, { deps, onEvent });            // TransferOutput, or throws
//   const run = startTransfer(input, { deps });  await run.result;  (await run.history).awsEventCount

export { startTransfer, runTransfer } from './transfer.ts';
export type { RunTransferOptions } from './transfer.ts';
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
export type { HandlerDeps } from '../../functions/index.ts';
