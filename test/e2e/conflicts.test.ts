// New versions and the onConflict policies, end to end through the local runner (chunked and direct).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferExecutionError } from '../../local/runner/index.ts';
import { inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const partSize = 64 * 1024;
const CHUNKED = 5 * partSize + 3; // above the lowered direct threshold
const DIRECT = 10_000;

describe('versions and conflict policies', () => {
  let env: E2eEnv;
  beforeAll(async () => {
    env = await startEnv({ emulator: { partSize, minChunkedFileSize: 100_000 }, settings: { directUploadMax: 100_000 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  /** A folder holding `name` with some first content; returns the folder and the first file. */
  async function folderWithFile(folderName: string, name: string) {
    const folder = await env.box.createFolder(folderName);
    await env.put(`seed/${folderName}/${name}`, DIRECT);
    const first = await env.run(inputFor(`seed/${folderName}/${name}`, folder.id, { destination: { folderId: folder.id, fileName: name } }));
    return { folder, first };
  }

  it('uploads a new version of an existing file given by destination.fileId', async () => {
    const { folder, first } = await folderWithFile('by-file-id', 'report.bin');
    const put = await env.put('v2/report-new.bin', CHUNKED);
    const output = await env.run(inputFor('v2/report-new.bin', folder.id, { destination: { folderId: folder.id, fileId: first.file.id } }));
    expect(output.mode).toBe('chunked');
    expect(output.file.id).toBe(first.file.id);
    expect(output.file.versionId).not.toBe(first.file.versionId);
    expect(output.file.sha1).toBe(put.sha1);
    expect(await env.download(first.file.id)).toEqual({ sha1: put.sha1, size: CHUNKED });
  });

  it.each([
    ['chunked', CHUNKED],
    ['direct', DIRECT + 1],
  ])('onConflict version (the default), %s: the name taken becomes a new version of that file', async (mode, size) => {
    const { folder, first } = await folderWithFile(`version-${mode}`, 'data.bin');
    const put = await env.put(`incoming/${mode}/data.bin`, size);
    const output = await env.run(inputFor(`incoming/${mode}/data.bin`, folder.id));
    expect(output.mode).toBe(mode);
    expect(output.file).toMatchObject({ id: first.file.id, name: 'data.bin', sha1: put.sha1, size });
    expect(output.file.versionId).not.toBe(first.file.versionId);
    expect(await env.download(first.file.id)).toEqual({ sha1: put.sha1, size });
  });

  it.each([
    ['chunked', CHUNKED],
    ['direct', DIRECT + 2],
  ])('onConflict rename, %s: a new file "name (1).ext" beside the first', async (mode, size) => {
    const { folder, first } = await folderWithFile(`rename-${mode}`, 'data.bin');
    const put = await env.put(`incoming-rename/${mode}/data.bin`, size);
    const output = await env.run(inputFor(`incoming-rename/${mode}/data.bin`, folder.id, { onConflict: 'rename' }));
    expect(output.mode).toBe(mode);
    expect(output.file.name).toBe('data (1).bin');
    expect(output.file.id).not.toBe(first.file.id);
    expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size });
    // The first file is untouched.
    expect(await env.download(first.file.id)).toEqual({ sha1: first.file.sha1, size: DIRECT });
  });

  it.each([
    ['chunked', CHUNKED],
    ['direct', DIRECT + 3],
  ])('onConflict fail, %s: Transfer.NameConflict, the first file untouched, no session left', async (mode, size) => {
    const { folder, first } = await folderWithFile(`fail-${mode}`, 'data.bin');
    await env.put(`incoming-fail/${mode}/data.bin`, size);
    const sessionsBefore = env.box.listSessions().length;
    const execution = env.start(inputFor(`incoming-fail/${mode}/data.bin`, folder.id, { onConflict: 'fail' }));
    const error = await execution.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferExecutionError);
    expect(error).toMatchObject({ name: 'Transfer.NameConflict', error: 'Transfer.NameConflict' });
    expect((error as TransferExecutionError).cause).toContain('data.bin');
    expect(env.box.getFile(first.file.id)?.file_version.id).toBe(first.file.versionId);
    expect(await env.download(first.file.id)).toEqual({ sha1: first.file.sha1, size: DIRECT });
    expect(env.box.listSessions().filter((s) => s.status === 'open')).toEqual([]);
    expect(env.box.listSessions()).toHaveLength(sessionsBefore);
    // Terminal, and nothing to resume.
    expect((error as TransferExecutionError).failure).toMatchObject({ error: { name: 'Transfer.NameConflict' }, resumable: false });
    if (mode === 'chunked') {
      // Box refused the session itself: Prepare failed and only the failure was described after it.
      expect(taskRuns(execution.events)).toEqual({ Prepare: 1, DescribeFailure: 1 });
    } else {
      // Direct: the upload met the name; there is no session to abort.
      expect(taskRuns(execution.events)).toEqual({ Prepare: 1, DirectUpload: 1, DescribeFailure: 1 });
    }
  });
});
