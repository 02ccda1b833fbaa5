// Summarize Lambda (bulk state machine): { plan, mapRun } -> SyncSummary; writes report.jsonl.
import type { SyncSummary } from '../src/bulk/contract.ts';
import { summarizeSync } from '../src/bulk/report.ts';
import type { SummarizeEvent } from '../src/bulk/report.ts';
import { defaultS3Deps } from './s3Deps.ts';
import type { S3Deps } from './s3Deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeSummarizeSyncHandler(deps: DepsSource<S3Deps>): TaskHandler<SummarizeEvent, SyncSummary> {
  return makeTask<SummarizeEvent, SyncSummary, S3Deps>(
    'Summarize',
    deps,
    (event, d) => summarizeSync(event, d),
    {
      fields: (event) => ({ runId: event?.plan?.batchInput?.runId }),
      summary: (s) => ({ objects: s.objects, copied: s.copied, skipped: s.skipped, failed: s.failed }),
    },
  );
}

export const handler = makeSummarizeSyncHandler(defaultS3Deps);
