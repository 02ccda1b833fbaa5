// DescribeFailure Lambda: the state document at a failure -> the failure document (the Fail state's Cause).
// Pure: no S3, no Box, so its role allows nothing but its logs.
import type { DescribeFailureEvent, DescribeFailureResult } from '../src/transfer/failure.ts';
import { describeFailure } from '../src/transfer/failure.ts';
import { defaultDeps } from './deps.ts';
import { makeTask, transferFields } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeDescribeFailureHandler(deps: DepsSource): TaskHandler<DescribeFailureEvent, DescribeFailureResult> {
  return makeTask<DescribeFailureEvent, DescribeFailureResult>(
    'DescribeFailure',
    deps,
    async (event) => describeFailure(event),
    (event) => ({ ...transferFields(event?.state), executionId: event?.executionId, error: event?.state?.error?.Error }),
    (r) => ({ error: r.error, resumable: r.resumable }),
  );
}

export const handler = makeDescribeFailureHandler(defaultDeps);
