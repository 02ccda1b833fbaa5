// SyncBatch Lambda (a bulk run's child workflow): { Items, BatchInput: { run } } -> SyncBatchResult.
import { syncBatch } from '../src/bulk/batch.ts';
import type { SyncBatchEvent, SyncBatchResult } from '../src/bulk/contract.ts';
import { defaultDeps } from './deps.ts';
import { METRIC } from './observability.ts';
import type { Measurement } from './observability.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

/**
 * The objects the batch copied or failed itself, as DirectUpload counts its upload and DescribeFailure its
 * failure; an object handed to a nested transfer is counted by that execution's own tasks.
 */
export function measureSyncBatch(result: SyncBatchResult): Measurement[] {
  const copied = result.results.filter((r) => r.outcome === 'copied');
  const failedByName = new Map<string, number>();
  for (const r of result.results) {
    if (r.outcome !== 'failed') continue;
    const name = r.failure?.error.name ?? 'Error';
    failedByName.set(name, (failedByName.get(name) ?? 0) + 1);
  }
  return [
    ...(copied.length > 0
      ? [
          { name: METRIC.bytesTransferred, unit: 'Bytes', value: copied.reduce((sum, r) => sum + r.bytes, 0) } as const,
          { name: METRIC.transfersSucceeded, unit: 'Count', value: copied.length } as const,
        ]
      : []),
    ...[...failedByName].map(([name, count]): Measurement => ({ name: METRIC.transfersFailed, unit: 'Count', value: count, dimensions: { ErrorName: name } })),
  ];
}

export function makeSyncBatchHandler(deps: DepsSource): TaskHandler<SyncBatchEvent, SyncBatchResult> {
  return makeTask<SyncBatchEvent, SyncBatchResult>(
    'SyncBatch',
    deps,
    (event, d, context) => syncBatch(event, d, context),
    {
      fields: (event) => ({ runId: event?.BatchInput?.run?.runId, objects: Array.isArray(event?.Items) ? event.Items.length : undefined }),
      summary: (result) => ({ settled: result.results.length, handedOver: result.transfers.length }),
      measure: measureSyncBatch,
    },
  );
}

export const handler = makeSyncBatchHandler(defaultDeps);
