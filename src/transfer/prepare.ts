// Prepare: validate the input, pin the S3 object, choose direct or chunked, open the Box session
// (conflict policy applied) and plan the part batches. The result is the whole state document.
import type { PrepareResult, TransferContext } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { resolveFolderPath } from './folders.ts';
import { defaultFileName, validateTransferInput } from './input.ts';
import { planBatches } from './plan.ts';
import { pinSource } from './s3source.ts';
import { openUploadSession } from './session.ts';

export async function prepareTransfer(rawInput: unknown, deps: TransferDeps): Promise<PrepareResult> {
  const input = validateTransferInput(rawInput);
  const { settings } = deps;
  const fileName = input.destination.fileName ?? defaultFileName(input.source.key);
  const source = await pinSource(deps.s3, input.source);
  // Subfolders are created only once the source is known to exist.
  const folderId = input.destination.folderPath === undefined
    ? input.destination.folderId
    : await resolveFolderPath(await deps.box(), input.destination.folderId, input.destination.folderPath);
  const destination: TransferContext['destination'] = {
    folderId,
    fileName,
    ...(input.destination.fileId !== undefined ? { fileId: input.destination.fileId } : {}),
    ...(input.destination.fileName !== undefined ? { fileNameGiven: true } : {}),
  };
  const onConflict = input.onConflict ?? 'version';
  const onlyIfCurrent = input.source.onlyIfCurrent === true ? { onlyIfCurrent: true } : {};
  const log = deps.logger.child({ bucket: source.bucket, key: source.key, versionId: source.versionId });

  if (source.size < settings.directUploadMax) {
    log.info('prepared direct upload', { size: source.size, etag: source.etag });
    return {
      mode: 'direct',
      transfer: { source, destination, onConflict, ...onlyIfCurrent, mode: 'direct', partsPerBatch: 0, partsInFlight: 1, mapConcurrency: 1 },
      batches: [],
    };
  }

  const box = await deps.box();
  const opened = await openUploadSession(box, destination, source.size, onConflict, settings.maxRenameAttempts);
  const concurrency = input.options?.concurrency ?? settings.defaultConcurrency;
  const plan = planBatches(opened.session.totalParts, opened.session.partSize, concurrency, settings, input.options?.partsPerBatch);
  if (input.options?.partsPerBatch !== undefined && plan.partsPerBatch !== input.options.partsPerBatch) {
    log.warn('partsPerBatch raised to stay inside the execution history budget', {
      requested: input.options.partsPerBatch,
      used: plan.partsPerBatch,
    });
  }
  log.info('prepared chunked upload', {
    sessionId: opened.session.id,
    size: source.size,
    partSize: opened.session.partSize,
    totalParts: opened.session.totalParts,
    batches: plan.batches.length,
    partsPerBatch: plan.partsPerBatch,
    partsInFlight: plan.partsInFlight,
    mapConcurrency: plan.mapConcurrency,
    fileName: opened.destination.fileName,
    fileId: opened.destination.fileId,
  });
  return {
    mode: 'chunked',
    transfer: {
      source,
      destination: opened.destination,
      onConflict,
      ...onlyIfCurrent,
      mode: 'chunked',
      session: opened.session,
      partsPerBatch: plan.partsPerBatch,
      partsInFlight: plan.partsInFlight,
      mapConcurrency: plan.mapConcurrency,
    },
    batches: plan.batches,
  };
}
