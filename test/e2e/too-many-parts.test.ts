// A session whose parts Box could not list in full (list parts refuses offsets above 10,000, 1000 a page)
// is refused when Prepare creates it, with a named error, and aborted: nothing is uploaded that could
// never be checked at commit.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LISTABLE_PARTS } from '../../src/box/index.ts';
import { inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

let env: E2eEnv | undefined;
afterEach(async () => {
  await env?.close();
});

describe('sessions Box cannot list in full', () => {
  it('are refused up front with Box.TooManyParts and aborted, before any part is sent', async () => {
    // 1-byte parts: the file size is the part count.
    env = await startEnv({ emulator: { partSize: 1, minChunkedFileSize: 1000 }, settings: { directUploadMax: 1000 } });
    const folder = await env.box.createFolder('many-parts');
    await env.put('too-many.bin', MAX_LISTABLE_PARTS + 1);
    const execution = env.start(inputFor('too-many.bin', folder.id));
    const error = await execution.result.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'Box.TooManyParts' });
    expect((error as Error).message).toContain(`${MAX_LISTABLE_PARTS + 1} parts`);
    const runs = taskRuns(execution.events);
    expect(runs['Prepare']).toBe(1);
    expect(runs['UploadBatch']).toBeUndefined();
    expect(env.box.listSessions().map((s) => s.status)).toEqual(['aborted']);
    expect(env.box.stats().requests.uploadPart).toBe(0);
  });
});
