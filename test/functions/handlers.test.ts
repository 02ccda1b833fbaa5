// Wiring: one file per Lambda, each exporting `handler` (deps built lazily from the environment)
// and `make<Name>Handler(deps)`; makeTaskHandlers keyed by state name.
import { describe, expect, it } from 'vitest';
import * as abortSession from '../../functions/abortSession.ts';
import * as describeFailure from '../../functions/describeFailure.ts';
import * as commit from '../../functions/commit.ts';
import * as directUpload from '../../functions/directUpload.ts';
import * as hashObject from '../../functions/hashObject.ts';
import { makeTaskHandlers } from '../../functions/index.ts';
import * as prepare from '../../functions/prepare.ts';
import * as uploadBatch from '../../functions/uploadBatch.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { lambdaContext } from '../transfer/helpers.ts';

describe('functions/', () => {
  it('each Lambda module exports handler and its factory', () => {
    const modules: Array<[Record<string, unknown>, string]> = [
      [prepare, 'makePrepareHandler'],
      [directUpload, 'makeDirectUploadHandler'],
      [uploadBatch, 'makeUploadBatchHandler'],
      [hashObject, 'makeHashObjectHandler'],
      [commit, 'makeCommitHandler'],
      [abortSession, 'makeAbortSessionHandler'],
      [describeFailure, 'makeDescribeFailureHandler'],
    ];
    for (const [mod, factory] of modules) {
      expect(typeof mod.handler).toBe('function');
      expect(typeof mod[factory]).toBe('function');
    }
  });

  it('the AWS handler validates input before it needs any credentials', async () => {
    process.env.LOG_LEVEL ??= 'silent';
    await expect(prepare.handler({ source: { bucket: 'b', key: 'k' }, destination: { folderId: 'root' } }, lambdaContext())).rejects.toMatchObject({
      name: 'Transfer.InvalidInput',
      message: expect.stringContaining('destination.folderId must be a string of digits'),
    });
  });

  it('makeTaskHandlers maps every state name, and AbortSession never throws', async () => {
    let boxAsked = 0;
    const h = makeTaskHandlers({
      s3: {} as never,
      box: async () => {
        boxAsked++;
        throw new Error('Box unreachable');
      },
      logger: silentLogger,
    });
    expect(Object.keys(h).sort()).toEqual(['AbortSession', 'Commit', 'DescribeFailure', 'DirectUpload', 'HashObject', 'Prepare', 'UploadBatch']);
    const transfer = {
      session: { id: 'S', partSize: 1, totalParts: 1, endpoints: { uploadPart: 'u', commit: 'c', abort: 'a', listParts: 'l', status: 's' } },
    };
    const r = await h.AbortSession({ transfer, error: { Error: 'Transfer.SourceChanged', Cause: 'changed' } }, lambdaContext());
    expect(r).toEqual({ aborted: false, reason: 'Error: Box unreachable' });
    expect(boxAsked).toBe(1);
  });
});
