// Fault injection (from tests and over the admin endpoint), counters, and link shaping.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { ConnectionBucket, LinkShaper } from '../../local/box-emulator/shaping.ts';
import { bytes, call, chunkedUpload, commitSession, createSession, download, expectBoxError, putPart, sha1b64, sha1hex, uploadAllParts } from './helpers.ts';

const PART = 64 * 1024;
let box: BoxEmulator;
beforeEach(async () => {
  box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1 });
});
afterEach(async () => {
  await box.close();
});

const folderItems = (): ReturnType<typeof call> => call(box, 'GET', '/2.0/folders/0/items');

describe('faults', () => {
  it('status on the n-th call only (nth counts from injection), with Retry-After and a custom code', async () => {
    await folderItems(); // before injection: not counted
    box.faults.inject({ operation: 'listFolderItems', nth: 2, action: { type: 'status', status: 429, retryAfterSeconds: 2 } });
    expect((await folderItems()).status).toBe(200);
    const limited = await folderItems();
    expectBoxError(limited, 429, 'rate_limit_exceeded');
    expect(limited.headers['retry-after']).toBe('2');
    expect((await folderItems()).status).toBe(200);
    box.faults.inject({ operation: 'listFolderItems', nth: 1, times: 2, action: { type: 'status', status: 503, code: 'unavailable_now' } });
    expectBoxError(await folderItems(), 503, 'unavailable_now');
    expect((await folderItems()).status).toBe(503);
    expect((await folderItems()).status).toBe(200);
  });

  it('hold: the request waits until the test lets it go (counted when it arrives), then proceeds', async () => {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    box.faults.inject({ operation: 'getFile', nth: 1, action: { type: 'hold', until } });
    let answered = false;
    const holding = call(box, 'GET', '/2.0/files/1').then((r) => {
      answered = true;
      return r;
    });
    while (box.stats().requests.getFile < 1) await new Promise((resolve) => setImmediate(resolve));
    // It has arrived and waits: a second request of the same operation (not held) is answered meanwhile.
    expect((await call(box, 'GET', '/2.0/files/2')).status).toBe(404);
    expect(answered).toBe(false);
    release();
    expect((await holding).status).toBe(404);
    // A hold is in-process only: the admin endpoint cannot carry a promise.
    expectBoxError(await call(box, 'POST', '/_emulator/faults', { token: null, json: { operation: 'getFile', action: { type: 'hold' } } }), 400, 'bad_request');
  });

  it('without nth: every call (or the first `times` calls)', async () => {
    box.faults.inject({ operation: 'getFile', times: 2, action: { type: 'status', status: 500 } });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await call(box, 'GET', '/2.0/files/1')).status);
    expect(answers).toEqual([500, 500, 404]);
    box.faults.inject({ operation: 'getFile', action: { type: 'status', status: 502 } });
    for (let i = 0; i < 3; i++) expectBoxError(await call(box, 'GET', '/2.0/files/1'), 502, 'bad_gateway');
    box.faults.clear();
    expect((await call(box, 'GET', '/2.0/files/1')).status).toBe(404);
  });

  it('storeThenFail: the part is stored but answered 500, so the retry meets 416 with the same sha1', async () => {
    const data = bytes(3 * PART, 3);
    const s = await createSession(box, data.length, 'stf.bin');
    box.faults.inject({ operation: 'uploadPart', nth: 2, action: { type: 'storeThenFail', status: 500 } });
    expect((await putPart(box, s, data.subarray(0, PART), 0)).status).toBe(200);
    const failed = await putPart(box, s, data.subarray(PART, 2 * PART), PART);
    expectBoxError(failed, 500, 'internal_server_error');
    const retry = await putPart(box, s, data.subarray(PART, 2 * PART), PART);
    expectBoxError(retry, 416, 'range_overlaps_existing_part');
    expect(retry.json.context_info.conflicting_part).toMatchObject({ offset: PART, size: PART, sha1: sha1hex(data.subarray(PART, 2 * PART)) });
    const third = await putPart(box, s, data.subarray(2 * PART), 2 * PART);
    const parts = [(await call(box, 'GET', s.session_endpoints.list_parts)).json.entries[0], retry.json.context_info.conflicting_part, third.json.part];
    expect((await commitSession(box, s, parts, sha1b64(data))).status).toBe(201);
  });

  it('storeThenFail on commit: the file is made, the answer is 500, the retried commit answers the same file', async () => {
    const data = bytes(2 * PART + 9, 12);
    const s = await createSession(box, data.length, 'stf-commit.bin');
    const parts = await uploadAllParts(box, s, data);
    box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenFail', status: 502 } });
    expectBoxError(await commitSession(box, s, parts, sha1b64(data)), 502, 'bad_gateway');
    const made = box.findFile('0', 'stf-commit.bin');
    expect(made).toBeDefined();
    const retry = await commitSession(box, s, parts, sha1b64(data));
    expect(retry.status).toBe(201);
    expect(retry.json.entries[0].id).toBe(made!.id);
  });

  it('storeThenFail on create: the retried create meets 409 session_conflict carrying the session', async () => {
    box.faults.inject({ operation: 'createSession', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    const body = { folder_id: '0', file_size: 3 * PART, file_name: 'lost.bin' };
    expectBoxError(await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: body }), 500, 'internal_server_error');
    const retry = await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: body });
    expectBoxError(retry, 409, 'session_conflict');
    expect(retry.json.context_info.session.id).toBe(box.listSessions()[0]?.id);
  });

  it('reset: the connection drops mid-body and nothing is stored', async () => {
    const data = bytes(2 * PART, 4);
    const s = await createSession(box, data.length, 'reset.bin');
    box.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'reset' } });
    await expect(putPart(box, s, data.subarray(0, PART), 0)).rejects.toThrow();
    expect(box.listSessions()[0]?.partsUploaded).toBe(0);
    expect((await putPart(box, s, data.subarray(0, PART), 0)).status).toBe(200);
    // Without a body too.
    box.faults.inject({ operation: 'getSession', action: { type: 'reset' } });
    await expect(call(box, 'GET', s.session_endpoints.status)).rejects.toThrow();
    expect(box.stats().requests.getSession).toBe(1);
  });

  it('partsMismatch: a transient 400 parts_mismatch on commit, then the commit goes through', async () => {
    const data = bytes(2 * PART + 5, 5);
    const s = await createSession(box, data.length, 'pm.bin');
    const parts = await uploadAllParts(box, s, data);
    box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'partsMismatch' } });
    expectBoxError(await commitSession(box, s, parts, sha1b64(data)), 400, 'parts_mismatch');
    expect((await commitSession(box, s, parts, sha1b64(data))).status).toBe(201);
  });

  it('expireToken: the token used is answered 401 from then on; others keep working', async () => {
    const two = await startBoxEmulator({ tokens: ['t1', 't2'] });
    try {
      two.faults.inject({ operation: 'listFolderItems', nth: 2, action: { type: 'expireToken' } });
      expect((await call(two, 'GET', '/2.0/folders/0/items', { token: 't1' })).status).toBe(200);
      const expired = await call(two, 'GET', '/2.0/folders/0/items', { token: 't1' });
      expectBoxError(expired, 401, 'unauthorized');
      expect(expired.headers['www-authenticate']).toContain('expired_token');
      expectBoxError(await call(two, 'GET', '/2.0/files/1', { token: 't1' }), 401, 'unauthorized');
      expect((await call(two, 'GET', '/2.0/folders/0/items', { token: 't2' })).status).toBe(200);
    } finally {
      await two.close();
    }
  });

  it('latency: the delayed request is held while later ones (undelayed, nth passed) are answered', async () => {
    const answered: string[] = [];
    const held = await startBoxEmulator({ onRequest: (e) => answered.push(`${e.operation ?? 'admin'}:${e.status}`) });
    try {
      // Far longer than the test: it only ends because close() cancels the wait, so no timing is involved.
      held.faults.inject({ operation: 'listFolderItems', nth: 1, action: { type: 'latency', ms: 600_000 } });
      const slow = call(held, 'GET', '/2.0/folders/0/items').then(
        (r) => `answered ${r.status}`,
        () => 'dropped unanswered',
      );
      // Counted when it arrives, before the wait: from then on it sits in the fault's delay.
      while (held.stats().requests.listFolderItems < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await call(held, 'GET', '/2.0/files/1')).status).toBe(404);
      expect((await call(held, 'GET', '/2.0/folders/0/items')).status).toBe(200); // nth: 1 only
      expect(answered).toEqual(['getFile:404', 'listFolderItems:200']);
      const rules = await call(held, 'GET', '/_emulator/faults', { token: null });
      expect(rules.json.faults[0]).toMatchObject({ operation: 'listFolderItems', calls: 2, fired: 1 });
      await held.close();
      expect(await slow).toBe('dropped unanswered');
    } finally {
      await held.close();
    }
  });

  it('rejects a malformed rule', () => {
    expect(() => box.faults.inject({ operation: 'nope' as never, action: { type: 'reset' } })).toThrow(/operation/);
    expect(() => box.faults.inject({ operation: 'commit', action: { type: 'status' } as never })).toThrow(/status/);
    expect(() => box.faults.inject({ operation: 'commit', nth: 0, action: { type: 'reset' } })).toThrow(/nth/);
  });
});

describe('admin endpoint', () => {
  it('POST/GET/DELETE /_emulator/faults and GET/DELETE /_emulator/stats', async () => {
    const added = await call(box, 'POST', '/_emulator/faults', { token: null, json: { operation: 'getFile', nth: 1, action: { type: 'status', status: 418 } } });
    expect(added.status).toBe(201);
    expect(added.json.faults).toHaveLength(1);
    expect((await call(box, 'GET', '/2.0/files/1')).status).toBe(418);
    const listed = await call(box, 'GET', '/_emulator/faults', { token: null });
    expect(listed.json.faults[0]).toMatchObject({ operation: 'getFile', calls: 1, fired: 1 });
    expectBoxError(await call(box, 'POST', '/_emulator/faults', { token: null, json: { operation: 'getFile', action: { type: 'boom' } } }), 400, 'bad_request');
    expect((await call(box, 'POST', '/_emulator/faults', { token: null, json: { operation: 'getFile', action: { type: 'status', status: 500 } } })).status).toBe(201);
    expect((await call(box, 'DELETE', '/_emulator/faults', { token: null })).status).toBe(204);
    expect((await call(box, 'GET', '/2.0/files/1')).status).toBe(404);

    const stats = await call(box, 'GET', '/_emulator/stats', { token: null });
    expect(stats.status).toBe(200);
    expect(stats.json).toMatchObject({ requests: { getFile: 2 }, partsInFlight: 0, maxPartsInFlight: 0, uploadsInFlight: 0, maxUploadsInFlight: 0 });
    expect((await call(box, 'DELETE', '/_emulator/stats', { token: null })).status).toBe(204);
    expect((await call(box, 'GET', '/_emulator/stats', { token: null })).json.requests.getFile).toBe(0);
    expect((await call(box, 'GET', '/_emulator/sessions', { token: null })).json).toEqual({ sessions: [] });
    expectBoxError(await call(box, 'GET', '/_emulator/nothing', { token: null }), 404, 'not_found');
  });
});

describe('counters', () => {
  it('count requests per operation (also failed ones) and reset', async () => {
    const data = bytes(2 * PART, 6);
    const f = await chunkedUpload(box, data, 'count.bin');
    await call(box, 'GET', `/2.0/files/${f.id}`);
    await download(box, f.id);
    await call(box, 'GET', '/2.0/folders/0/items', { token: 'bad' });
    const st = box.stats();
    expect(st.requests).toMatchObject({ createSession: 1, uploadPart: 2, commit: 1, getFile: 1, downloadFile: 1, listFolderItems: 1, token: 0 });
    box.resetStats();
    expect(Object.values(box.stats().requests).every((n) => n === 0)).toBe(true);
  });
});

describe('request log', () => {
  it('onRequest reports method, path, status and operation of each API request', async () => {
    const seen: Array<{ method: string; path: string; status: number; operation: string | undefined }> = [];
    const logged = await startBoxEmulator({ onRequest: (e) => seen.push(e) });
    try {
      await call(logged, 'GET', '/2.0/folders/0/items');
      await call(logged, 'GET', '/2.0/files/9');
      await call(logged, 'GET', '/2.0/nowhere');
      expect(seen).toEqual([
        { method: 'GET', path: '/2.0/folders/0/items', status: 200, operation: 'listFolderItems' },
        { method: 'GET', path: '/2.0/files/9', status: 404, operation: 'getFile' },
        { method: 'GET', path: '/2.0/nowhere', status: 404, operation: undefined },
      ]);
    } finally {
      await logged.close();
    }
  });
});

describe('link shaping', () => {
  it('the bucket charges bytes / rate and only sleeps once the debt is noticeable', () => {
    let t = 1000;
    const bucket = new ConnectionBucket(1_000_000, () => t); // 1000 bytes per ms
    expect(bucket.charge(1000)).toBe(0); // 1 ms of debt: not worth a timer
    expect(bucket.charge(9000)).toBe(10); // 10 ms of debt
    t += 10;
    expect(bucket.charge(2000)).toBe(0); // drained meanwhile
    t += 100; // idle time is not banked as burst
    expect(bucket.charge(50_000)).toBe(50);
    expect(new LinkShaper(1_000_000, new AbortController().signal).enabled).toBe(true);
    expect(new LinkShaper(undefined, new AbortController().signal).enabled).toBe(false);
    expect(new LinkShaper(0, new AbortController().signal).enabled).toBe(false);
  });

  it('with latency and a bandwidth cap, uploads and downloads stay byte-exact', async () => {
    const shaped = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, latencyMs: 5, bandwidthBytesPerSecond: 8 * 1024 * 1024 });
    try {
      const data = bytes(4 * PART + 17, 9);
      const f = await chunkedUpload(shaped, data, 'shaped.bin');
      const dl = await download(shaped, f.id);
      expect(dl.body.equals(data)).toBe(true);
    } finally {
      await shaped.close();
    }
  });

  it('a throttled transfer is cut short by close() without hanging', async () => {
    const shaped = await startBoxEmulator({ minChunkedFileSize: 1, bandwidthBytesPerSecond: 1000 });
    const data = bytes(200_000, 10);
    const s = await createSession(shaped, data.length, 'slow.bin');
    const pending = putPart(shaped, s, data, 0).catch((err: unknown) => err);
    for (let i = 0; i < 200 && shaped.stats().partsInFlight === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(shaped.stats().partsInFlight).toBe(1);
    await shaped.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
