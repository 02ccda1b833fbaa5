// The transfer state machine's task handlers by state name (aws-local-stepfunctions' taskResourceLocalHandlers
// are keyed by state name). Apart from the bulk ones (functions/index.ts) so that the local runner of one
// transfer does not load the bulk modules (CSV, manifests, the Step Functions client) it never calls.
import type { LambdaContextLike } from '../src/transfer/contract.ts';
import type { HandlerDeps } from './deps.ts';
import { makeAbortSessionHandler } from './abortSession.ts';
import { makeCommitHandler } from './commit.ts';
import { makeDescribeFailureHandler } from './describeFailure.ts';
import { makeDirectUploadHandler } from './directUpload.ts';
import { makeHashObjectHandler } from './hashObject.ts';
import { makePrepareHandler } from './prepare.ts';
import { makeUploadBatchHandler } from './uploadBatch.ts';

export type TaskName = 'Prepare' | 'DirectUpload' | 'UploadBatch' | 'HashObject' | 'Commit' | 'AbortSession' | 'DescribeFailure';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- events arrive as untyped JSON from the state machine
export function makeTaskHandlers(deps: HandlerDeps): Record<TaskName, (event: any, context: LambdaContextLike) => Promise<unknown>> {
  return {
    Prepare: makePrepareHandler(deps),
    DirectUpload: makeDirectUploadHandler(deps),
    UploadBatch: makeUploadBatchHandler(deps),
    HashObject: makeHashObjectHandler(deps),
    Commit: makeCommitHandler(deps),
    AbortSession: makeAbortSessionHandler(deps),
    DescribeFailure: makeDescribeFailureHandler(deps),
  };
}
