// DirectUpload: objects below 20,000,000 bytes (zero included) go through Box's direct upload,
// streamed from S3 (pinned version) with the same conflict policy as chunked sessions. Each try
// opens a fresh stream, so a conflict retry re-reads the object rather than holding it in memory.
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { BoxIntegrityError } from '../box/errors.ts';
import type { BoxFileLike } from './boxPort.ts';
import { transferOutput } from './commit.ts';
import { withConflictPolicy } from './conflict.ts';
import type { TransferContext, TransferOutput } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { openObjectStream } from './s3source.ts';

function hashingTap(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

export async function directUpload(transfer: TransferContext, deps: TransferDeps): Promise<TransferOutput> {
  const { source, destination } = transfer;
  const box = await deps.box();
  const log = deps.logger.child({ bucket: source.bucket, key: source.key, versionId: source.versionId });
  const contentModifiedAt = new Date(source.lastModified).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const knownSha1Hex = source.sha1 !== undefined ? Buffer.from(source.sha1, 'base64').toString('hex') : undefined;
  let computedHex: string | undefined;

  const attempt = async (upload: (file: Readable, common: { fileSize: number; contentModifiedAt: string; sha1Hex?: string }) => Promise<BoxFileLike>) => {
    const s3Stream = await openObjectStream(deps.s3, source);
    const hash = createHash('sha1');
    const body = s3Stream.pipe(hashingTap(hash));
    s3Stream.on('error', (err) => body.destroy(err));
    try {
      const file = await upload(body, { fileSize: source.size, contentModifiedAt, ...(knownSha1Hex !== undefined ? { sha1Hex: knownSha1Hex } : {}) });
      computedHex = hash.digest('hex');
      return file;
    } finally {
      s3Stream.destroy();
      body.destroy();
    }
  };

  const files = box.files;
  const renameTo = destination.fileNameGiven === true ? { fileName: destination.fileName } : {};
  const file =
    destination.fileId !== undefined
      ? await attempt((f, common) => files.uploadFileVersion(destination.fileId!, { ...renameTo, file: f, ...common }))
      : await withConflictPolicy<BoxFileLike>(
          transfer.onConflict,
          destination.fileName,
          destination.folderId,
          {
            create: (fileName) => attempt((f, common) => files.uploadFile({ parentFolderId: destination.folderId, fileName, file: f, ...common })),
            createVersion: (fileId) => attempt((f, common) => files.uploadFileVersion(fileId, { file: f, ...common })),
          },
          deps.settings.maxRenameAttempts,
        );

  const expected = knownSha1Hex ?? computedHex;
  if (file.sha1 !== undefined && expected !== undefined && file.sha1.toLowerCase() !== expected) {
    throw new BoxIntegrityError(`Box file ${file.id} has SHA-1 ${file.sha1}, but the bytes read from S3 hash to ${expected}`, { status: 201 });
  }
  const output = transferOutput(file, transfer, 0);
  log.info('direct upload done', { fileId: output.file.id, versionId: output.file.versionId, name: output.file.name, size: output.file.size });
  return output;
}
