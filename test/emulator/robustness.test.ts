// Robustness: many parallel parts, early answers to big bodies on a kept-alive connection, and
// cleanup on close.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, buildConnector } from 'undici';
import { describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import { bytes, chunkedUpload, commitSession, createSession, expectBoxError, putPart, sha1b64, uploadAllParts } from './helpers.ts';

describe('robustness', () => {
  it('takes 200 parts in parallel, byte-exact', async () => {
    const part = 16 * 1024;
    const box = await startBoxEmulator({ partSize: part, minChunkedFileSize: 1 });
    try {
      const data = bytes(200 * part - 3, 31);
      const s = await createSession(box, data.length, 'many.bin');
      const parts = await uploadAllParts(box, s, data);
      expect(parts).toHaveLength(200);
      expect(box.stats().maxPartsInFlight).toBeGreaterThan(1);
      const c = await commitSession(box, s, parts, sha1b64(data));
      expect(c.status).toBe(201);
      expect((await box.readFileContent(c.json.entries[0].id)).equals(data)).toBe(true);
    } finally {
      await box.close();
    }
  });

  it('an early 416 to an 8 MiB body leaves the kept-alive connection usable', async () => {
    const part = 8 * 1024 * 1024;
    const box = await startBoxEmulator({ partSize: part, minChunkedFileSize: 1 });
    // One connection at a time, and every connection opened counted: a server that closed the
    // connection after its early answer would make the agent open a second one.
    const connector = buildConnector({});
    let opened = 0;
    const agent = new Agent({
      connections: 1,
      connect: (options, callback) => {
        opened += 1;
        return connector(options, callback);
      },
    });
    const { setGlobalDispatcher, getGlobalDispatcher } = await import('undici');
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(agent);
    try {
      const data = bytes(part + 10, 32);
      const s = await createSession(box, data.length, 'early.bin');
      expect((await putPart(box, s, data.subarray(0, part), 0)).status).toBe(200);
      // The 416 comes before the 8 MiB body is read; the emulator drains the rest, and the next request
      // goes over the very same connection.
      expectBoxError(await putPart(box, s, data.subarray(0, part), 0), 416, 'range_overlaps_existing_part');
      expect((await putPart(box, s, data.subarray(part), part)).status).toBe(200);
      expect(opened).toBe(1);
      // A chunked body still being sent when the answer is complete: undici itself resets that socket
      // (it cannot know where the body would end), so the next request may need one new connection, and
      // the emulator answers it as usual.
      expectBoxError(await putPart(box, s, data.subarray(0, part), 0, { chunked: true }), 416, 'range_overlaps_existing_part');
      expectBoxError(await putPart(box, s, data.subarray(0, part), 0), 416, 'range_overlaps_existing_part');
      expect(opened).toBeLessThanOrEqual(2);
    } finally {
      setGlobalDispatcher(previous);
      await agent.close();
      await box.close();
    }
  });

  it('close() removes the temp data folder it made, keeps a given one, and can be called twice', async () => {
    const box = await startBoxEmulator({ minChunkedFileSize: 1, partSize: 1024 });
    await chunkedUpload(box, bytes(3000), 'x.bin');
    expect(existsSync(box.dataDir)).toBe(true);
    await Promise.all([box.close(), box.close()]);
    expect(existsSync(box.dataDir)).toBe(false);

    const mine = await mkdtemp(path.join(os.tmpdir(), 'emu-data-'));
    try {
      const kept = await startBoxEmulator({ dataDir: mine, minChunkedFileSize: 1, partSize: 1024 });
      const f = await chunkedUpload(kept, bytes(3000), 'kept.bin');
      const p = kept.fileContentPath(f.id);
      await kept.close();
      expect(existsSync(p)).toBe(true);
      expect(await readdir(mine)).toContain('files');
    } finally {
      await rm(mine, { recursive: true, force: true });
    }
  });

  it('close() ends uploads that are stalled mid-body', async () => {
    const box = await startBoxEmulator({ partSize: 1024 * 1024, minChunkedFileSize: 1 });
    const s = await createSession(box, 2 * 1024 * 1024, 'stalled.bin');
    const { request } = await import('undici');
    const { Readable } = await import('node:stream');
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(1000));
    const pending = request(s.session_endpoints.upload_part, {
      method: 'PUT',
      headers: { authorization: `Bearer ${box.token}`, digest: `sha=${sha1b64(Buffer.alloc(1))}`, 'content-range': `bytes 0-${1024 * 1024 - 1}/${2 * 1024 * 1024}` },
      body,
    }).catch((err: unknown) => err);
    for (let i = 0; i < 200 && box.stats().partsInFlight === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(box.stats().partsInFlight).toBe(1);
    await box.close();
    expect(await pending).toBeInstanceOf(Error);
    body.destroy();
  });
});
