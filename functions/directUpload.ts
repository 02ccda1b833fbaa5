// DirectUpload Lambda: PrepareResult (mode 'direct'; the state machine adds executionId) -> TransferOutput.
import type { PrepareResult, TransferOutput } from '../src/transfer/contract.ts';
import { directUpload } from '../src/transfer/direct.ts';
import { defaultDeps } from './deps.ts';
import { METRIC } from './observability.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

/** `retryCount` is `$$.State.RetryCount`. */
export type DirectUploadEvent = PrepareResult & { retryCount?: number };

export function makeDirectUploadHandler(deps: DepsSource): TaskHandler<DirectUploadEvent, TransferOutput> {
  return makeTask<DirectUploadEvent, TransferOutput>('DirectUpload', deps, (event, d) => directUpload(event.transfer, d, { retry: (event.retryCount ?? 0) > 0 }), {
    summary: (r) => ({ fileId: r.file.id, size: r.file.size }),
    measure: (r) => [
      { name: METRIC.bytesTransferred, unit: 'Bytes', value: r.bytes },
      { name: METRIC.transfersSucceeded, unit: 'Count', value: 1 },
    ],
  });
}

export const handler = makeDirectUploadHandler(defaultDeps);
