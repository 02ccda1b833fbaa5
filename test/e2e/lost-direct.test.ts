// A direct upload whose answer was lost, under onConflict: rename (RELIABILITY.md M08c). The name is taken
// by someone else's file, so the first try stored ours as "name (1).ext" and its answer was lost (500 after
// storing). The retry meets the taken name again, then "name (1).ext": that file holds our SHA-1 and size,
// so it is the earlier try's upload, not a reason to make "name (2).ext".
import { afterEach, describe, expect, it } from 'vitest';
import { inputFor, startEnv } from './harness.ts';
import type { E2eEnv } from './harness.ts';

let env: E2eEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe('a lost direct upload under onConflict: rename', () => {
  it('M08c the retry finds our bytes under the renamed name: success, no second renamed copy', async () => {
    env = await startEnv({ emulator: { minChunkedFileSize: 100_000 }, settings: { directUploadMax: 100_000 } });
    const folder = await env.box.createFolder('lost-rename');
    const theirs = Buffer.alloc(1000, 9);
    const other = await env.client.files.uploadFile({ parentFolderId: folder.id, fileName: 'small.bin', file: theirs, fileSize: theirs.length });
    const put = await env.put('small.bin', 50_000);
    env.box.resetStats();
    // 1st upload: 409 (someone's small.bin); 2nd: "small (1).bin" stored, answered 500.
    env.box.faults.inject({ operation: 'uploadFile', nth: 2, action: { type: 'storeThenFail', status: 500 } });
    const execution = env.start(inputFor('small.bin', folder.id, { onConflict: 'rename' }));
    const output = await execution.result;
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'DirectUpload', error: 'Box.ServerError' }));
    expect(output).toMatchObject({ mode: 'direct', file: { name: 'small (1).bin', sha1: put.sha1, parentId: folder.id } });
    expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: 50_000 });
    expect(env.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
    expect(env.box.findFile(folder.id, 'small (2).bin')).toBeUndefined();
    // Someone else's file is untouched. Uploads: 409, stored but 500, then the retry's 409 and 409.
    expect(env.box.getFile(other.id)).toMatchObject({ name: 'small.bin', sequence_id: '0', size: 1000 });
    expect(env.box.stats().requests).toMatchObject({ uploadFile: 4, uploadFileVersion: 0 });
  });
});
