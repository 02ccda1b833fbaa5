// Summarize Lambda (bulk state machine): { plan, mapRun } -> SyncSummary; writes report.jsonl.
// TRANSFER_STATE_MACHINE_ARN lets it read the nested transfers a stopped child left (src/bulk/nested.ts);
// SFN_ENDPOINT points that Step Functions client at a stand-in.
import { SFNClient } from '@aws-sdk/client-sfn';
import type { SyncSummary } from '../src/bulk/contract.ts';
import type { NestedTransfers } from '../src/bulk/nested.ts';
import { summarizeSync } from '../src/bulk/report.ts';
import type { SummarizeEvent } from '../src/bulk/report.ts';
import { processTelemetry } from './observability.ts';
import { defaultS3Deps } from './s3Deps.ts';
import type { S3Deps } from './s3Deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeSummarizeSyncHandler(deps: DepsSource<S3Deps>, nested: () => NestedTransfers | undefined = () => undefined): TaskHandler<SummarizeEvent, SyncSummary> {
  return makeTask<SummarizeEvent, SyncSummary, S3Deps>(
    'Summarize',
    deps,
    (event, d) => summarizeSync(event, d, nested()),
    {
      fields: (event) => ({ runId: event?.plan?.batchInput?.runId }),
      summary: (s) => ({ objects: s.objects, copied: s.copied, skipped: s.skipped, failed: s.failed }),
    },
  );
}

let processNested: NestedTransfers | undefined;
function nestedFromEnv(env: Record<string, string | undefined> = process.env): NestedTransfers | undefined {
  const stateMachineArn = env.TRANSFER_STATE_MACHINE_ARN;
  if (stateMachineArn === undefined || stateMachineArn === '') return undefined;
  processNested ??= { stateMachineArn, sfn: processTelemetry().tracer.captureAWSv3Client(new SFNClient(env.SFN_ENDPOINT ? { endpoint: env.SFN_ENDPOINT } : {})) };
  return processNested;
}

export const handler = makeSummarizeSyncHandler(defaultS3Deps, nestedFromEnv);
