// The trigger: S3 events and HTTP requests in front of the state machine (functions/startTransfer.ts).
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
} from './start.ts';
export type { TriggerDeps, StepFunctionsPort, StartResult, ObjectOutcome, S3TriggerResult } from './start.ts';
export { parseRoutes, routesFromEnv, matchRoute } from './routes.ts';
export type { TransferRoute } from './routes.ts';
export { triggerEventKind, decodeS3EventKey, parseS3Notification, parseEventBridgeS3Event, ACCEPTED_EVENTS } from './events.ts';
export type { CreatedObject, IgnoredRecord, TriggerEventKind } from './events.ts';
export {
  executionNameForObject,
  executionNameForIdempotencyKey,
  randomExecutionName,
  executionArnFor,
  isValidExecutionName,
  MAX_EXECUTION_NAME_LENGTH,
} from './names.ts';
export { httpErrorFor, isTransfersRoute, jsonResponse } from './http.ts';
