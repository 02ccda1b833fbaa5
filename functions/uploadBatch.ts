// UploadBatch Lambda: UploadBatchEvent -> UploadBatchResult.
import type { UploadBatchEvent, UploadBatchResult } from '../src/transfer/contract.ts';
import { uploadBatch } from '../src/transfer/uploadBatch.ts';
import { defaultDeps } from './deps.ts';
import { METRIC } from './observability.ts';
import { makeTask, transferFields } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeUploadBatchHandler(deps: DepsSource): TaskHandler<UploadBatchEvent, UploadBatchResult> {
  return makeTask<UploadBatchEvent, UploadBatchResult>(
    'UploadBatch',
    deps,
    (event, d, context) => uploadBatch(event, d, context),
    {
      fields: (event) => ({ ...transferFields(event), batch: event?.batch }),
      summary: (r) => ({ parts: r.parts, bytes: r.bytes, alreadyUploaded: r.alreadyUploaded }),
      measure: (r) => [
        { name: METRIC.bytesTransferred, unit: 'Bytes', value: r.bytes },
        { name: METRIC.partsUploaded, unit: 'Count', value: r.parts - r.alreadyUploaded },
        { name: METRIC.partsAlreadyStored, unit: 'Count', value: r.alreadyUploaded },
      ],
    },
  );
}

export const handler = makeUploadBatchHandler(defaultDeps);
