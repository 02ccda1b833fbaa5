// The transfer domain: everything the Lambdas in functions/ call.
export type * from './contract.ts';
export type { BoxClientLike } from './boxPort.ts';
export type { TransferDeps, TransferProgressEvent } from './deps.ts';
export * from './errors.ts';
export { validateTransferInput, defaultFileName, inputSchema } from './input.ts';
export { DEFAULT_SETTINGS, resolveSettings, settingsFromEnv } from './settings.ts';
export type { TransferSettings } from './settings.ts';
export { planBatches, batchParts, partRange, partCount } from './plan.ts';
export type { BatchPlan, PartRange } from './plan.ts';
export { pinSource, readRange, openObjectStream, mapS3Error, fullObjectSha1 } from './s3source.ts';
export { hashSlice } from './hash.ts';
export { renamedName, withConflictPolicy, nameConflict } from './conflict.ts';
export { openUploadSession, sessionRef } from './session.ts';
export { prepareTransfer } from './prepare.ts';
export { uploadBatch } from './uploadBatch.ts';
export { commitTransfer, listAllParts, checkCoverage, transferOutput } from './commit.ts';
export { abortTransfer } from './abort.ts';
export { TERMINAL_ERRORS, isTerminalError, describeFailure, failureDocument, parseFailureCause, errorMessageOf, resumeRefOf } from './failure.ts';
export type { DescribeFailureEvent, DescribeFailureResult } from './failure.ts';
export { directUpload } from './direct.ts';
export { createJsonLogger, silentLogger, errorFields } from './logger.ts';
export type { Logger, LogFields, LogLevel } from './logger.ts';
export {
  startTransfersForS3Event,
  startTransferFromRequest,
  startExecutionOnce,
  startExecutionError,
  planObject,
  transferInputForObject,
  StartThrottledError,
  StartFailedError,
  StartUnavailableError,
  DEFAULT_CLOCK_SKEW_TOLERANCE_MS,
} from './trigger.ts';
export type { TriggerDeps, StepFunctionsPort, StartResult, ObjectOutcome, S3TriggerResult } from './trigger.ts';
export { parseRoutes, routesFromEnv, matchRoute } from './trigger-routes.ts';
export type { TransferRoute } from './trigger-routes.ts';
export { triggerEventKind, decodeS3EventKey, parseS3Notification, parseEventBridgeS3Event, ACCEPTED_EVENTS } from './trigger-events.ts';
export type { CreatedObject, IgnoredRecord, TriggerEventKind } from './trigger-events.ts';
export {
  executionNameForObject,
  executionNameForIdempotencyKey,
  randomExecutionName,
  executionArnFor,
  isValidExecutionName,
  MAX_EXECUTION_NAME_LENGTH,
} from './trigger-names.ts';
