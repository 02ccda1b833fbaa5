// Prepare: validate the input, pin the S3 object, choose direct or chunked, open the Box session
// (conflict policy applied) or take up the one given to resume, and plan the part batches. The result is
// the whole state document.
import { checkDestinationAllowed, checkSourceAllowed, checkSourceSize } from './allowed.ts';
import type { PrepareResult, TransferContext, TransferInput } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { InvalidInputError } from './errors.ts';
import { resolveFolderPath } from './folders.ts';
import { defaultFileName, validateTransferInput } from './input.ts';
import { batchParts, planBatches } from './plan.ts';
import { resumeSession, storedPartsOf } from './resume.ts';
import { describeSource, pinSource } from './s3source.ts';
import { openUploadSession } from './session.ts';

/** The S3 location to pin: a resumed run reads the version the failed run read. */
function sourceToPin(input: TransferInput): TransferInput['source'] {
  const pinned = input.resume?.versionId;
  if (pinned === undefined) return input.source;
  if (input.source.versionId !== undefined && input.source.versionId !== pinned) {
    throw new InvalidInputError(`resume.versionId ${pinned} differs from source.versionId ${input.source.versionId}: give one of them, or the same`);
  }
  return { ...input.source, versionId: pinned };
}

export interface PrepareOptions {
  /** `$$.State.RetryCount`: above 0 an earlier try of this Prepare may have created the upload session. */
  retryCount?: number;
}

export async function prepareTransfer(rawInput: unknown, deps: TransferDeps, options: PrepareOptions = {}): Promise<PrepareResult> {
  const input = validateTransferInput(rawInput);
  const { settings } = deps;
  const fileName = input.resume?.fileName ?? input.destination.fileName ?? defaultFileName(input.source.key);
  // The deployment's limits, before anything is read or sent: the source is not even looked at when
  // it is not allowed, and Box sees nothing of an object that is too large.
  checkSourceAllowed(settings.allowedSources, input.source.bucket, input.source.key);
  const source = await pinSource(deps.s3, sourceToPin(input));
  checkSourceSize(source.size, settings.maxFileSize, describeSource(source));
  const box = await deps.box();
  // The given folder (or file) must exist and be allowed before any subfolder is created in it.
  await checkDestinationAllowed(box, input.destination, settings.allowedDestinationFolders);
  // Subfolders are created only once the source is known to exist.
  const folderId = input.destination.folderPath === undefined
    ? input.destination.folderId
    : await resolveFolderPath(box, input.destination.folderId, input.destination.folderPath);
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
    if (input.resume !== undefined) {
      throw new InvalidInputError(
        `resume: s3://${source.bucket}/${source.key} has ${source.size} bytes, below the chunked minimum (${settings.directUploadMax}), so it has no upload session to resume; start it again without resume`,
      );
    }
    // A new version of a known file: remember its current version, so that a retried DirectUpload can tell
    // whether a try whose answer was lost already landed (a current version with our SHA-1, not this one).
    const versionSeen =
      destination.fileId === undefined ? undefined : (await (await deps.box()).files.getFile(destination.fileId)).file_version?.id;
    log.info('prepared direct upload', { size: source.size, etag: source.etag, versionSeen });
    return {
      mode: 'direct',
      transfer: {
        source,
        destination: versionSeen === undefined ? destination : { ...destination, versionSeen },
        onConflict,
        ...onlyIfCurrent,
        mode: 'direct',
        partsPerBatch: 0,
        partsInFlight: 1,
        mapConcurrency: 1,
      },
      batches: [],
    };
  }

  const resumed = input.resume !== undefined ? await resumeSession(box, input.resume, source, destination, settings, log) : undefined;
  const opened = resumed ?? (await openUploadSession(box, destination, source.size, onConflict, settings.maxRenameAttempts, options.retryCount, {
      windowMs: settings.sessionProgressWindowMs,
      pollMs: settings.sessionProgressPollMs,
    }));
  // A new version: the file's current version before our commit, so that a retried Commit can tell
  // whether a commit whose answer was lost landed (a current version with our bytes that is not this one).
  const versionSeen =
    opened.destination.fileId === undefined || opened.destination.versionSeen !== undefined
      ? opened.destination.versionSeen
      : (await box.files.getFile(opened.destination.fileId)).file_version?.id;
  const concurrency = input.options?.concurrency ?? settings.defaultConcurrency;
  const plan = planBatches(opened.session.totalParts, opened.session.partSize, concurrency, settings, input.options?.partsPerBatch);
  if (resumed !== undefined) {
    // Only the batches that still have a part to send; UploadBatch skips the stored parts inside them.
    const stored = storedPartsOf(resumed.stored.bitmap);
    plan.batches = plan.batches.filter((b) => batchParts(b, plan.partsPerBatch, opened.session, source.size).some((p) => !stored(p.index)));
    log.info('resuming upload session', {
      sessionId: opened.session.id,
      storedParts: resumed.stored.count,
      storedBytes: resumed.stored.bytes,
      missingParts: opened.session.totalParts - resumed.stored.count,
      batches: plan.batches.length,
    });
  }
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
      destination: versionSeen === undefined ? opened.destination : { ...opened.destination, versionSeen },
      onConflict,
      ...onlyIfCurrent,
      mode: 'chunked',
      session: opened.session,
      partsPerBatch: plan.partsPerBatch,
      partsInFlight: plan.partsInFlight,
      mapConcurrency: plan.mapConcurrency,
      ...(resumed !== undefined && resumed.stored.count > 0 ? { storedParts: resumed.stored.bitmap } : {}),
    },
    batches: plan.batches,
  };
}
