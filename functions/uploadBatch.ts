// UploadBatch Lambda: UploadBatchEvent -> UploadBatchResult.
import type { UploadBatchEvent, UploadBatchResult } from '../src/transfer/contract.ts';
import { storedBeforeFailing, uploadBatch } from '../src/transfer/uploadBatch.ts';
import { defaultDeps } from './deps.ts';
import { METRIC } from './observability.ts';
import type { Measurement } from './observability.ts';
import { makeTask, transferFields } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

/**
 * BytesTransferred is what this invocation sent into Box, never the parts it found stored (a resumed
 * session, a retry): a resumed or retried transfer is not counted twice.
 */
export function measureUploadBatch(r: UploadBatchResult): Measurement[] {
  return [
    { name: METRIC.bytesTransferred, unit: 'Bytes', value: r.sentBytes },
    { name: METRIC.partsUploaded, unit: 'Count', value: r.parts - r.alreadyUploaded },
    { name: METRIC.partsAlreadyStored, unit: 'Count', value: r.alreadyUploaded },
  ];
}

/** A batch that fails after storing parts (Transfer.Deadline, a part that failed) still sent those. */
export function measureFailedUploadBatch(error: unknown): Measurement[] {
  const stored = storedBeforeFailing(error);
  return stored === undefined
    ? []
    : [
        { name: METRIC.bytesTransferred, unit: 'Bytes', value: stored.sentBytes },
        { name: METRIC.partsUploaded, unit: 'Count', value: stored.sentParts },
      ];
}

export function makeUploadBatchHandler(deps: DepsSource): TaskHandler<UploadBatchEvent, UploadBatchResult> {
  return makeTask<UploadBatchEvent, UploadBatchResult>(
    'UploadBatch',
    deps,
    (event, d, context) => uploadBatch(event, d, context),
    {
      fields: (event) => ({ ...transferFields(event), batch: event?.batch }),
      summary: (r) => ({ parts: r.parts, bytes: r.bytes, sentBytes: r.sentBytes, alreadyUploaded: r.alreadyUploaded }),
      measure: measureUploadBatch,
      measureFailure: measureFailedUploadBatch,
    },
  );
}

export const handler = makeUploadBatchHandler(defaultDeps);
