// FinishBatch Lambda (a bulk run's child workflow): { results, transferResults } -> { results }.
import type { BatchOutput, FinishBatchEvent } from '../src/bulk/contract.ts';
import { finishBatch } from '../src/bulk/finish.ts';
import { defaultBoxDeps } from './deps.ts';
import type { BoxDeps } from './deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeFinishBatchHandler(deps: DepsSource<BoxDeps>): TaskHandler<FinishBatchEvent, BatchOutput> {
  return makeTask<FinishBatchEvent, BatchOutput, BoxDeps>(
    'FinishBatch',
    deps,
    (event, d) => finishBatch(event, d),
    {
      fields: (event) => ({ nested: Array.isArray(event?.transferResults) ? event.transferResults.length : undefined }),
      summary: (result) => ({ objects: result.results.length }),
    },
  );
}

export const handler = makeFinishBatchHandler(defaultBoxDeps);
