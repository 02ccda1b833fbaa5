// DescribeFailure Lambda: the state document at a failure -> the failure document (the Fail state's Cause).
// Pure: no S3, no Box, so its role allows nothing but its logs.
import type { DescribeFailureEvent, DescribeFailureResult } from '../src/transfer/failure.ts';
import { describeFailure } from '../src/transfer/failure.ts';
import { defaultBaseDeps } from './baseDeps.ts';
import type { BaseDeps } from './baseDeps.ts';
import { METRIC } from './observability.ts';
import { executionNameOf, makeTask, transferFields } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeDescribeFailureHandler(deps: DepsSource<BaseDeps>): TaskHandler<DescribeFailureEvent, DescribeFailureResult> {
  return makeTask<DescribeFailureEvent, DescribeFailureResult, BaseDeps>(
    'DescribeFailure',
    deps,
    async (event) => describeFailure(event),
    {
      fields: (event) => ({
        ...transferFields(event?.state),
        executionId: event?.executionId,
        executionName: executionNameOf(event?.executionId),
        error: event?.state?.error?.Error,
      }),
      summary: (r) => ({ error: r.error, resumable: r.resumable }),
      // Every failed transfer passes here once: failures counted by the original error's name.
      measure: (r) => [{ name: METRIC.transfersFailed, unit: 'Count', value: 1, dimensions: { ErrorName: r.error } }],
    },
  );
}

export const handler = makeDescribeFailureHandler(defaultBaseDeps);
