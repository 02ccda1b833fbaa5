// SyncBatch Lambda (a bulk run's child workflow): { Items, BatchInput: { run } } -> SyncBatchResult.
import { syncBatch } from '../src/bulk/batch.ts';
import type { SyncBatchEvent, SyncBatchResult } from '../src/bulk/contract.ts';
import { defaultDeps } from './deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeSyncBatchHandler(deps: DepsSource): TaskHandler<SyncBatchEvent, SyncBatchResult> {
  return makeTask<SyncBatchEvent, SyncBatchResult>(
    'SyncBatch',
    deps,
    (event, d, context) => syncBatch(event, d, context),
    {
      fields: (event) => ({ runId: event?.BatchInput?.run?.runId, objects: Array.isArray(event?.Items) ? event.Items.length : undefined }),
      summary: (result) => ({ settled: result.results.length, handedOver: result.transfers.length }),
    },
  );
}

export const handler = makeSyncBatchHandler(defaultDeps);
