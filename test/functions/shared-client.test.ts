// One invocation's failure never closes or destroys the Box client that other invocations in the same
// process share (AWS reuses warm containers; the local runner runs every invocation in one process).
// Issue seen once: while a batch failed, other part uploads failed with UND_ERR_DESTROYED "The client is
// destroyed". Here invocation B holds the shared client across the failures of invocation A (a request
// cancelled mid-flight by A's deadline, a terminal Box answer, a bad input): B is held on a gate (its
// next ranged S3 read) until A has failed every way, then carries on with the same client.
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { localS3Client } from '../../local/runner/index.ts';
import type { PrepareResult } from '../../src/transfer/contract.ts';
import { rejection } from '../support/rejection.ts';
import { lambdaContext, testBytes } from '../transfer/helpers.ts';
import { PART, taskEnv } from './task-env.ts';

const BUCKET = 'shared-bucket';
const SIZE = 4 * PART + 10;

const startEnv = taskEnv(BUCKET);

describe('a shared Box client', () => {
  it('stays usable for the other invocations whatever one invocation fails with', async () => {
    const { s3, box, client, handlers, handlersWith } = await startEnv({ maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 });
    const close = vi.spyOn(client, 'close');
    const destroy = vi.spyOn(client, 'destroy');
    await s3.put(BUCKET, 'b.bin', testBytes(SIZE, 1));
    await s3.put(BUCKET, 'a.bin', testBytes(SIZE, 2));
    const folder = await box.createFolder('shared');
    const ctx = lambdaContext();
    const b = (await handlers.Prepare({ source: { bucket: BUCKET, key: 'b.bin' }, destination: { folderId: folder.id } }, ctx)) as PrepareResult;
    const a = (await handlers.Prepare({ source: { bucket: BUCKET, key: 'a.bin' }, destination: { folderId: folder.id } }, ctx)) as PrepareResult;

    // B reads S3 through a client of its own whose read of part 2 waits on a gate; its Box client is the shared one.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reachedGate!: () => void;
    const atGate = new Promise<void>((resolve) => (reachedGate = resolve));
    // Through the SDK alone: the gate is a middleware, which the lean GET (src/transfer/leanGet.ts) does not pass.
    const gatedS3 = localS3Client(s3.endpoint, undefined, { leanReads: false });
    gatedS3.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Range?: string };
        if (args.input !== undefined && input.Range === `bytes=${2 * PART}-${3 * PART - 1}`) {
          reachedGate();
          await gate;
        }
        return next(args);
      },
      { step: 'initialize', name: 'gate' },
    );
    const bHandlers = handlersWith(gatedS3);
    const bTransfer = { ...b.transfer, partsInFlight: 1, partsPerBatch: b.transfer.session!.totalParts };
    const bDone = bHandlers.UploadBatch({ transfer: bTransfer, batch: 0 }, ctx);
    let bSettled = false;
    void bDone.finally(() => (bSettled = true)).catch(() => undefined);
    await atGate; // B has stored parts 0 and 1 through the shared client and waits for part 2's bytes

    // A fails every way an invocation can while B is held:
    // a Box request cancelled mid-flight by its deadline (the undici request is aborted; it reached Box
    // within the 3 s budget: counted),
    box.faults.inject({ operation: 'listParts', nth: 1, action: { type: 'latency', ms: 3_600_000 } });
    const aSha1 = createHash('sha1').update(testBytes(SIZE, 2)).digest('base64');
    const listedBefore = box.stats().requests.listParts;
    expect(await rejection(handlers.Commit({ transfer: a.transfer, sha1: aSha1 }, lambdaContext(() => 8_000)))).toMatchObject({ name: 'Transfer.Deadline' });
    expect(box.stats().requests.listParts).toBe(listedBefore + 1);
    // a terminal Box answer in the middle of a batch (403 on a part),
    box.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'status', status: 403, code: 'forbidden' } });
    expect(await rejection(handlers.UploadBatch({ transfer: { ...a.transfer, partsInFlight: 1 }, batch: 0 }, ctx))).toMatchObject({ name: 'Box.Forbidden' });
    // a connection reset under a request that is then given up, and a bad input.
    box.faults.inject({ operation: 'getFile', action: { type: 'reset' } });
    expect(await rejection(client.files.getFile('1'))).toMatchObject({ name: 'Box.NetworkError' });
    box.faults.clear();
    expect(await rejection(handlers.Commit({ transfer: a.transfer, sha1: 'not a digest' }, ctx))).toMatchObject({ name: 'Transfer.InvalidInput' });
    expect(bSettled).toBe(false);

    // B carries on with the same client, as does any new invocation.
    release();
    await expect(bDone).resolves.toMatchObject({ parts: 5, bytes: SIZE });
    const bSha1 = createHash('sha1').update(testBytes(SIZE, 1)).digest('base64');
    await expect(handlers.Commit({ transfer: b.transfer, sha1: bSha1 }, ctx)).resolves.toMatchObject({ status: 'committed', output: { bytes: SIZE } });
    await expect(client.folders.getFolder(folder.id)).resolves.toMatchObject({ id: folder.id });
    expect(close).not.toHaveBeenCalled();
    expect(destroy).not.toHaveBeenCalled();
    gatedS3.destroy();
    // Nothing B sent was refused: 5 parts for B; A's one refused part.
    expect(box.stats().requests.uploadPart).toBe(5 + 1);
  });
});
