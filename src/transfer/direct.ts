// DirectUpload: objects below 20,000,000 bytes (zero included) go through Box's direct upload with
// the same conflict policy as chunked sessions. The object (pinned version) is read once into memory
// (at most 20 MB) and hashed first, so Box checks the bytes against Content-MD5 (the SHA-1) before it
// creates anything: a corrupted body is refused instead of landing in Box.
import { BoxIntegrityError } from '../box/errors.ts';
import { base64ToHex, sha1Hex } from '../box/helpers.ts';
import type { BoxFileLike } from './boxPort.ts';
import { boxTimestamp, transferOutput } from './commit.ts';
import { withConflictPolicy } from './conflict.ts';
import { checkStillCurrent } from './current.ts';
import type { TransferContext, TransferOutput } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { SourceChangedError } from './errors.ts';
import { readRange } from './s3source.ts';

/**
 * `retry`: this is a retry (`$$.State.RetryCount` > 0), so an earlier try may have stored the file although
 * its answer was lost; a name conflict with a file that holds exactly these bytes is then that upload.
 */
export async function directUpload(transfer: TransferContext, deps: TransferDeps, opts: { retry?: boolean } = {}): Promise<TransferOutput> {
  const { source, destination } = transfer;
  const box = await deps.box();
  const log = deps.logger.child({ bucket: source.bucket, key: source.key, versionId: source.versionId });
  const contentModifiedAt = boxTimestamp(source.lastModified);
  const bytes = source.size === 0 ? new Uint8Array(0) : await readRange(deps.s3, source, 0, source.size);
  const sha1 = sha1Hex(bytes);
  if (source.sha1 !== undefined && base64ToHex(source.sha1) !== sha1) {
    throw new SourceChangedError(`s3://${source.bucket}/${source.key}: the bytes read do not match the SHA-1 checksum S3 holds for the object`);
  }
  const common = { file: bytes, fileSize: source.size, contentModifiedAt, sha1Hex: sha1 };
  if (transfer.onlyIfCurrent === true) await checkStillCurrent(deps.s3, source, log);

  const files = box.files;
  // A file that already holds exactly these bytes (and, for a new version, not in the version seen before):
  // an earlier try stored it and its answer was lost. Read from Box, never from an error body.
  const landed = async (fileId: string, notVersion?: string): Promise<BoxFileLike | undefined> => {
    const found = await files.getFile(fileId);
    const same = found.sha1?.toLowerCase() === sha1 && found.size === source.size;
    return same && (notVersion === undefined || found.file_version?.id !== notVersion) ? found : undefined;
  };
  const renameTo = destination.fileNameGiven === true ? { fileName: destination.fileName } : {};
  const knownFile = destination.fileId;
  const earlier = knownFile !== undefined && destination.versionSeen !== undefined ? await landed(knownFile, destination.versionSeen) : undefined;
  if (earlier !== undefined) log.info('direct upload already landed (an earlier try)', { fileId: earlier.id, versionId: earlier.file_version?.id });
  const file =
    earlier !== undefined
      ? earlier
      : knownFile !== undefined
      ? await files.uploadFileVersion(knownFile, { ...renameTo, ...common })
      : await withConflictPolicy<BoxFileLike>(
          transfer.onConflict,
          destination.fileName,
          destination.folderId,
          {
            create: (fileName) => files.uploadFile({ parentFolderId: destination.folderId, fileName, ...common }),
            createVersion: (fileId) => files.uploadFileVersion(fileId, common),
            ...(opts.retry === true ? { alreadyThere: (fileId: string) => landed(fileId) } : {}),
          },
          deps.settings.maxRenameAttempts,
        );

  // Box already checked Content-MD5; this catches a Box that did not.
  if (file.sha1 !== undefined && file.sha1.toLowerCase() !== sha1) {
    throw new BoxIntegrityError(`Box file ${file.id} has SHA-1 ${file.sha1}, but the bytes read from S3 hash to ${sha1}`, { status: 201 });
  }
  const output = transferOutput(file, transfer, 0);
  log.info('direct upload done', { fileId: output.file.id, versionId: output.file.versionId, name: output.file.name, size: output.file.size });
  return output;
}
