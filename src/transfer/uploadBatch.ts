// UploadBatch: the parts of one Map item. Each part: a ranged GET pinned to the source version,
// SHA-1, PUT to Box with Digest and Content-Range, and the echoed part checked. A few parts are in
// flight at once, so memory stays at about partsInFlight x part size.
import { createHash } from 'node:crypto';
import { BoxIntegrityError } from '../box/errors.ts';
import type { UploadBatchEvent, UploadBatchResult } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { InvalidInputError } from './errors.ts';
import { batchParts } from './plan.ts';
import { forEachLimit } from './pool.ts';
import { readRange } from './s3source.ts';

export async function uploadBatch(event: UploadBatchEvent, deps: TransferDeps): Promise<UploadBatchResult> {
  const { transfer, batch } = event;
  const session = transfer.session;
  if (session === undefined) throw new InvalidInputError('UploadBatch needs transfer.session (chunked mode)');
  const size = transfer.source.size;
  if (!Number.isInteger(batch) || batch < 0 || batch * transfer.partsPerBatch >= session.totalParts) {
    throw new InvalidInputError(`batch ${String(batch)} is outside the plan (${session.totalParts} parts, ${transfer.partsPerBatch} per batch)`);
  }
  const parts = batchParts(batch, transfer.partsPerBatch, session, size);
  const box = await deps.box();
  const log = deps.logger.child({ sessionId: session.id, batch });
  let bytes = 0;
  let alreadyUploaded = 0;

  await forEachLimit(parts, transfer.partsInFlight, async (part, signal) => {
    const body = await readRange(deps.s3, transfer.source, part.offset, part.size, signal);
    const digest = createHash('sha1').update(body).digest();
    const sha1Hex = digest.toString('hex');
    const result = await box.chunkedUploads.uploadFilePartByUrl(
      session.endpoints.uploadPart,
      body,
      { digest: `sha=${digest.toString('base64')}`, contentRange: `bytes ${part.offset}-${part.offset + part.size - 1}/${size}` },
      { signal },
    );
    const echoed = result.part;
    if (
      echoed.offset !== part.offset ||
      echoed.size !== part.size ||
      (typeof echoed.sha1 === 'string' && echoed.sha1.toLowerCase() !== sha1Hex)
    ) {
      throw new BoxIntegrityError(
        `Box answered part ${part.index} (offset ${part.offset}, ${part.size} bytes, sha1 ${sha1Hex}) with offset ${echoed.offset}, size ${echoed.size}, sha1 ${String(echoed.sha1)}`,
        { status: 200 },
      );
    }
    // The client resolves a 416 overlap whose stored part has the same SHA-1 as a success; it marks
    // those (a retried batch) so they can be counted.
    const already = (result as { alreadyUploaded?: unknown }).alreadyUploaded === true;
    if (already) alreadyUploaded++;
    bytes += part.size;
    deps.onProgress?.({ type: 'part-uploaded', offset: part.offset, size: part.size, alreadyUploaded: already });
  });

  log.info('batch uploaded', { parts: parts.length, bytes, alreadyUploaded, firstPart: parts[0]?.index });
  return { batch, parts: parts.length, bytes, alreadyUploaded };
}
