// All task handlers by state name, for the local runner (aws-local-stepfunctions
// taskResourceLocalHandlers are keyed by state name) and for tests: the bulk ones here, the transfer's
// re-exported from functions/transferHandlers.ts.
import type { LambdaContextLike } from '../src/transfer/contract.ts';
import type { NestedTransfers } from '../src/bulk/nested.ts';
import type { HandlerDeps } from './deps.ts';
import { makeFinishBatchHandler } from './finishBatch.ts';
import { makePlanSyncHandler } from './planSync.ts';
import { makeSummarizeSyncHandler } from './summarizeSync.ts';
import { makeSyncBatchHandler } from './syncBatch.ts';

export type { HandlerDeps } from './deps.ts';
export type { LambdaContextLike };

// The transfer's handlers (functions/transferHandlers.ts, which the local runner of one transfer imports alone).
export { makeTaskHandlers } from './transferHandlers.ts';
export type { TaskName } from './transferHandlers.ts';

/** The bulk state machine's Lambdas by serverless function key (their Task states carry a reader prefix). */
export type BulkFunctionKey = 'planSync' | 'syncBatch' | 'finishBatch' | 'summarizeSync';

export function makeBulkHandlers(
  deps: HandlerDeps,
  /** Where Summarize reads the nested transfers (the local runner's own; in AWS, the Step Functions API). */
  nested?: () => NestedTransfers | undefined,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- events arrive as untyped JSON from the state machine
): Record<BulkFunctionKey, (event: any, context: LambdaContextLike) => Promise<unknown>> {
  return {
    planSync: makePlanSyncHandler(deps),
    syncBatch: makeSyncBatchHandler(deps),
    finishBatch: makeFinishBatchHandler(deps),
    summarizeSync: makeSummarizeSyncHandler(deps, nested),
  };
}
