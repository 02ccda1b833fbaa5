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
import type { SourceObject, TransferContext, TransferOutput } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { SourceChangedError } from './errors.ts';
import { readRange } from './s3source.ts';

/**
 * A file that already holds exactly these bytes (SHA-1 and size, read from Box) where this upload would go is
 * this upload, under every onConflict policy: an earlier try may have stored it and lost its answer (a 5xx,
 * a reset, a timeout), and that earlier try may be another execution (a bulk batch's hand-over, a re-run of
 * a failed transfer), so this holds on a first try too. It costs one `GET /files/{id}`, only on a 409 (or,
 * for a known file, once before uploading).
 * `retry`: this is a state machine retry (`$$.State.RetryCount` > 0); only logged.
 * `readWhole`: reads the pinned object whole instead of readRange (a bulk batch's lean read, src/bulk/smallRead.ts).
 */
export async function directUpload(
  transfer: TransferContext,
  deps: TransferDeps,
  opts: { retry?: boolean; readWhole?: (source: SourceObject) => Promise<Buffer> } = {},
): Promise<TransferOutput> {
  const { source, destination } = transfer;
  const box = await deps.box();
  const log = deps.logger.child({ bucket: source.bucket, key: source.key, versionId: source.versionId, ...(opts.retry === true ? { retry: true } : {}) });
  const contentModifiedAt = boxTimestamp(source.lastModified);
  const bytes = source.size === 0 ? new Uint8Array(0) : opts.readWhole !== undefined ? await opts.readWhole(source) : await readRange(deps.s3, source, 0, source.size);
  const sha1 = sha1Hex(bytes);
  if (source.sha1 !== undefined && base64ToHex(source.sha1) !== sha1) {
    throw new SourceChangedError(`s3://${source.bucket}/${source.key}: the bytes read do not match the SHA-1 checksum S3 holds for the object`);
  }
  const common = { file: bytes, fileSize: source.size, contentModifiedAt, sha1Hex: sha1 };
  if (transfer.onlyIfCurrent === true) await checkStillCurrent(deps.s3, source, log);

  const files = box.files;
  // Read from Box, never from an error body.
  const landed = async (fileId: string): Promise<BoxFileLike | undefined> => {
    const found = await files.getFile(fileId);
    return found.sha1?.toLowerCase() === sha1 && found.size === source.size ? found : undefined;
  };
  const renameTo = destination.fileNameGiven === true ? { fileName: destination.fileName } : {};
  const knownFile = destination.fileId;
  // A known file whose current version holds these bytes (and the name asked for, if one was): the version
  // seen by Prepare (a re-run after a lost answer) or a newer one (this execution's earlier try); either
  // way not a second version of the same bytes.
  const current = knownFile !== undefined ? await landed(knownFile) : undefined;
  const earlier = current !== undefined && (renameTo.fileName === undefined || current.name === renameTo.fileName) ? current : undefined;
  if (earlier !== undefined) log.info('direct upload already in Box (an earlier try)', { fileId: earlier.id, versionId: earlier.file_version?.id });
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
            alreadyThere: async (fileId: string) => {
              const found = await landed(fileId);
              if (found !== undefined) log.info('direct upload already in Box (an earlier try)', { fileId: found.id, name: found.name });
              return found;
            },
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
