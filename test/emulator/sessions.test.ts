// Upload sessions over raw HTTP: create (new file, new version), get, list parts, abort, log, and
// every validation row of create.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { bytes, call, chunkedUpload, createSession, expectBoxError, putPart, sha1b64, uploadAllParts, commitSession } from './helpers.ts';

const PART = 64 * 1024;
let box: BoxEmulator;

beforeEach(async () => {
  box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 100_000 });
});
afterEach(async () => {
  await box.close();
});

describe('create session (new file)', () => {
  it('answers 201 with an UploadSession whose endpoints point back at the emulator', async () => {
    const r = await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_000, file_name: 'a.bin' } });
    expect(r.status).toBe(201);
    const s = r.json;
    expect(s.type).toBe('upload_session');
    expect(s.id).toMatch(/^[0-9A-F]{32}$/);
    expect(s.part_size).toBe(PART);
    expect(s.total_parts).toBe(Math.ceil(200_000 / PART));
    expect(s.num_parts_processed).toBe(0);
    expect(Date.parse(s.session_expires_at) - Date.now()).toBeGreaterThan(6 * 24 * 3600 * 1000);
    const base = `${box.uploadUrl}/2.0/files/upload_sessions/${s.id}`;
    expect(s.session_endpoints).toEqual({
      upload_part: base,
      commit: `${base}/commit`,
      abort: base,
      list_parts: `${base}/parts`,
      status: base,
      log_event: `${base}/log`,
    });
  });

  it('is served under /2.0 as well as /api/2.0', async () => {
    const r = await call(box, 'POST', '/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_000, file_name: 'b.bin' } });
    expect(r.status).toBe(201);
    const g = await call(box, 'GET', `/2.0/files/upload_sessions/${r.json.id}`);
    expect(g.status).toBe(200);
    expect(g.json.id).toBe(r.json.id);
  });

  it.each([
    [{ file_size: 200_000, file_name: 'x' }, 400, 'missing_destination'],
    [{ folder_id: 'abc', file_size: 200_000, file_name: 'x' }, 400, 'invalid_folder_id'],
    [{ folder_id: '0', file_name: 'x' }, 400, 'missing_file_size'],
    [{ folder_id: '0', file_size: -1, file_name: 'x' }, 400, 'invalid_file_size'],
    [{ folder_id: '0', file_size: 1.5, file_name: 'x' }, 400, 'invalid_file_size'],
    [{ folder_id: '0', file_size: '200000', file_name: 'x' }, 400, 'invalid_file_size'],
    [{ folder_id: '0', file_size: 99_999, file_name: 'x' }, 400, 'file_size_too_small'],
    [{ folder_id: '0', file_size: 200_000 }, 400, 'missing_file_name'],
    [{ folder_id: '0', file_size: 200_000, file_name: 'a/b' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: 200_000, file_name: 'a\\b' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: 200_000, file_name: ' lead' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: 200_000, file_name: 'trail ' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: 200_000, file_name: '..' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: 200_000, file_name: 'x'.repeat(256) }, 400, 'item_name_too_long'],
    [{ folder_id: '987654', file_size: 200_000, file_name: 'x' }, 404, 'invalid_parameter'],
  ])('rejects %j with %i %s', async (body, status, code) => {
    expectBoxError(await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: body }), status, code);
  });

  it('rejects a body that is not JSON with 400 bad_request', async () => {
    const r = await call(box, 'POST', '/api/2.0/files/upload_sessions', { body: '{nope', headers: { 'content-type': 'application/json' } });
    expectBoxError(r, 400, 'bad_request');
  });

  it('uses the real 20,000,000-byte threshold by default', async () => {
    const real = await startBoxEmulator();
    try {
      const small = await call(real, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 19_999_999, file_name: 's' } });
      expectBoxError(small, 400, 'file_size_too_small');
      const ok = await call(real, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 20_000_000, file_name: 's' } });
      expect(ok.status).toBe(201);
      expect(ok.json.part_size).toBe(8 * 1024 * 1024);
      expect(ok.json.total_parts).toBe(3);
    } finally {
      await real.close();
    }
  });

  it('default part size: smallest power of two >= 8 MiB keeping total parts <= 10,000', async () => {
    const real = await startBoxEmulator();
    try {
      const cases: Array<[number, number]> = [
        [20_000_000, 8 * 2 ** 20],
        [10_000 * 8 * 2 ** 20, 8 * 2 ** 20],
        [10_000 * 8 * 2 ** 20 + 1, 16 * 2 ** 20],
        [200 * 2 ** 30, 32 * 2 ** 20],
      ];
      for (const [size, partSize] of cases) {
        const r = await call(real, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: size, file_name: `f${size}` } });
        expect(r.status).toBe(201);
        expect(r.json.part_size).toBe(partSize);
        expect(r.json.total_parts).toBe(Math.ceil(size / partSize));
        expect(r.json.total_parts).toBeLessThanOrEqual(10_000);
      }
    } finally {
      await real.close();
    }
  });

  it('takes a part size policy function', async () => {
    const custom = await startBoxEmulator({ partSize: (size) => (size > 1_000_000 ? 300_000 : 100_000), minChunkedFileSize: 1 });
    try {
      expect((await createSession(custom, 2_000_000, 'big')).part_size).toBe(300_000);
      expect((await createSession(custom, 500_000, 'small')).part_size).toBe(100_000);
    } finally {
      await custom.close();
    }
  });

  it('answers 403 file_size_limit_exceeded above maxFileSize', async () => {
    const capped = await startBoxEmulator({ minChunkedFileSize: 1, maxFileSize: 1000 });
    try {
      const r = await call(capped, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 1001, file_name: 'x' } });
      expectBoxError(r, 403, 'file_size_limit_exceeded');
    } finally {
      await capped.close();
    }
  });

  it('answers 409 item_name_in_use (conflicts as one object, case-insensitive) when the name is taken', async () => {
    const file = await chunkedUpload(box, bytes(150_000), 'Taken.bin');
    const r = await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_000, file_name: 'taken.BIN' } });
    expectBoxError(r, 409, 'item_name_in_use');
    expect(r.json.context_info.conflicts).toMatchObject({ type: 'file', id: file.id, name: 'Taken.bin', etag: '0' });
    expect(Array.isArray(r.json.context_info.conflicts)).toBe(false);
    const folder = await box.createFolder('Dir');
    const r2 = await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_000, file_name: 'dir' } });
    expectBoxError(r2, 409, 'item_name_in_use');
    expect(r2.json.context_info.conflicts).toMatchObject({ type: 'folder', id: folder.id });
  });

  it('answers 409 session_conflict with the open session when the same create comes again', async () => {
    const first = await createSession(box, 200_000, 'dup.bin');
    const again = await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_000, file_name: 'dup.bin' } });
    expectBoxError(again, 409, 'session_conflict');
    expect(again.json.context_info.session.id).toBe(first.id);
    expect(again.json.context_info.session.session_endpoints.upload_part).toBe(first.session_endpoints.upload_part);
    // Another size, or after the first session is gone, is a new session.
    expect((await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_001, file_name: 'dup.bin' } })).status).toBe(201);
    expect((await call(box, 'DELETE', first.session_endpoints.abort)).status).toBe(204);
    expect((await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_000, file_name: 'dup.bin' } })).status).toBe(201);
  });

  it('creates sessions in a sub-folder', async () => {
    const folder = await box.createFolder('Sub');
    const data = bytes(150_000, 3);
    const file = await chunkedUpload(box, data, 'in-sub.bin', folder.id);
    expect(file).toMatchObject({ parent: { id: folder.id, name: 'Sub' }, path_collection: { total_count: 2 } });
    expect(box.findFile(folder.id, 'in-sub.bin')?.id).toBe(file.id);
    expect(box.findFile('0', 'in-sub.bin')).toBeUndefined();
  });
});

describe('create session (new version)', () => {
  it('creates a session on an existing file and its commit adds a version to the same file id', async () => {
    const v1 = bytes(150_000, 1);
    const file = await chunkedUpload(box, v1, 'versioned.bin');
    const v2 = bytes(210_000, 2);
    const r = await call(box, 'POST', `/api/2.0/files/${file.id}/upload_sessions`, { json: { file_size: v2.length } });
    expect(r.status).toBe(201);
    const session = r.json;
    expect(session.total_parts).toBe(Math.ceil(v2.length / PART));
    const parts = await uploadAllParts(box, session, v2);
    const c = await commitSession(box, session, parts, sha1b64(v2));
    expect(c.status).toBe(201);
    const f2 = c.json.entries[0];
    expect(f2.id).toBe(file.id);
    expect(f2.size).toBe(v2.length);
    expect(f2.etag).toBe('1');
    expect(f2.file_version.id).not.toBe((file.file_version as { id: string }).id);
    expect(f2.sha1).toBe(f2.file_version.sha1);
    expect((await box.readFileContent(file.id)).equals(v2)).toBe(true);
  });

  it('renames with file_name, and rejects a name taken by another file', async () => {
    const a = await chunkedUpload(box, bytes(150_000, 1), 'a.bin');
    await chunkedUpload(box, bytes(150_000, 2), 'b.bin');
    const taken = await call(box, 'POST', `/api/2.0/files/${a.id}/upload_sessions`, { json: { file_size: 150_000, file_name: 'B.bin' } });
    expectBoxError(taken, 409, 'item_name_in_use');
    const data = bytes(150_000, 3);
    const r = await call(box, 'POST', `/api/2.0/files/${a.id}/upload_sessions`, { json: { file_size: data.length, file_name: 'a-renamed.bin' } });
    expect(r.status).toBe(201);
    const parts = await uploadAllParts(box, r.json, data);
    const c = await commitSession(box, r.json, parts, sha1b64(data));
    expect(c.json.entries[0]).toMatchObject({ id: a.id, name: 'a-renamed.bin' });
  });

  it('answers 404 for an unknown file and 400 for a missing or too small size', async () => {
    expectBoxError(await call(box, 'POST', '/api/2.0/files/999999/upload_sessions', { json: { file_size: 150_000 } }), 404, 'not_found');
    const f = await chunkedUpload(box, bytes(150_000), 'v.bin');
    expectBoxError(await call(box, 'POST', `/api/2.0/files/${f.id}/upload_sessions`, { json: {} }), 400, 'missing_file_size');
    expectBoxError(await call(box, 'POST', `/api/2.0/files/${f.id}/upload_sessions`, { json: { file_size: 10 } }), 400, 'file_size_too_small');
  });
});

describe('get, list parts, abort, log', () => {
  it('GET reports the session with num_parts_processed following the parts', async () => {
    const data = bytes(200_000);
    const s = await createSession(box, data.length, 'g.bin');
    await putPart(box, s, data.subarray(0, PART), 0);
    const g = await call(box, 'GET', s.session_endpoints.status);
    expect(g.status).toBe(200);
    expect(g.json).toMatchObject({ id: s.id, total_parts: s.total_parts, num_parts_processed: 1 });
  });

  it('lists parts sorted by offset, paged by part count (offset/limit), limit capped at 1000', async () => {
    const data = bytes(10 * PART, 5);
    const s = await createSession(box, data.length, 'list.bin');
    // Upload in reverse order: the list is still sorted.
    for (let i = 9; i >= 0; i--) expect((await putPart(box, s, data.subarray(i * PART, (i + 1) * PART), i * PART)).status).toBe(200);
    const all = await call(box, 'GET', s.session_endpoints.list_parts);
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ total_count: 10, offset: 0, limit: 1000, order: [{ by: 'type', direction: 'ASC' }] });
    expect(all.json.entries.map((p: { offset: number }) => p.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i * PART));
    for (const p of all.json.entries) expect(p.sha1).toMatch(/^[0-9a-f]{40}$/);
    for (const p of all.json.entries) expect(p.part_id).toMatch(/^[0-9A-F]{8}$/);
    const page = await call(box, 'GET', `${s.session_endpoints.list_parts}?offset=3&limit=2`);
    expect(page.json).toMatchObject({ total_count: 10, offset: 3, limit: 2 });
    expect(page.json.entries.map((p: { offset: number }) => p.offset)).toEqual([3 * PART, 4 * PART]);
    const big = await call(box, 'GET', `${s.session_endpoints.list_parts}?limit=5000`);
    expect(big.json.limit).toBe(1000);
    expect((await call(box, 'GET', `${s.session_endpoints.list_parts}?offset=10000`)).status).toBe(200);
    expectBoxError(await call(box, 'GET', `${s.session_endpoints.list_parts}?offset=10001`), 400, 'bad_request');
    expectBoxError(await call(box, 'GET', `${s.session_endpoints.list_parts}?limit=-1`), 400, 'bad_request');
  });

  it('abort answers 204, discards the session, and answers 204 again; later calls get 404', async () => {
    const s = await createSession(box, 200_000, 'abort.bin');
    const d = await call(box, 'DELETE', s.session_endpoints.abort);
    expect(d.status).toBe(204);
    expect(d.text).toBe('');
    expect((await call(box, 'DELETE', s.session_endpoints.abort)).status).toBe(204);
    expectBoxError(await call(box, 'GET', s.session_endpoints.status), 404, 'not_found');
    expectBoxError(await putPart(box, s, bytes(PART), 0), 404, 'not_found');
    expectBoxError(await call(box, 'GET', s.session_endpoints.list_parts), 404, 'not_found');
    expectBoxError(await commitSession(box, s, [], sha1b64(Buffer.alloc(0))), 404, 'not_found');
    expect(box.listSessions().find((x) => x.id === s.id)?.status).toBe('aborted');
  });

  it('abort after a commit answers 204 and keeps the file', async () => {
    const data = bytes(150_000);
    const s = await createSession(box, data.length, 'kept.bin');
    const parts = await uploadAllParts(box, s, data);
    const c = await commitSession(box, s, parts, sha1b64(data));
    expect(c.status).toBe(201);
    expect((await call(box, 'DELETE', s.session_endpoints.abort)).status).toBe(204);
    expect((await box.readFileContent(c.json.entries[0].id)).equals(data)).toBe(true);
  });

  it('accepts log events (204) and wants an event_type', async () => {
    const s = await createSession(box, 200_000, 'log.bin');
    expect((await call(box, 'POST', s.session_endpoints.log_event, { json: { event_type: 'upload_started', event_info: '{}' } })).status).toBe(204);
    expectBoxError(await call(box, 'POST', s.session_endpoints.log_event, { json: {} }), 400, 'bad_request');
  });

  it('answers 400 invalid_upload_session_id for a malformed id and 404 for an unknown one', async () => {
    expectBoxError(await call(box, 'GET', '/api/2.0/files/upload_sessions/not-a-session'), 400, 'invalid_upload_session_id');
    expectBoxError(await call(box, 'GET', `/api/2.0/files/upload_sessions/${'A'.repeat(32)}`), 404, 'not_found');
  });

  it('answers 403 forbidden when another user touches the session', async () => {
    const two = await startBoxEmulator({ tokens: ['alice', 'bob'], partSize: PART, minChunkedFileSize: 1 });
    try {
      const s = await createSession(two, 200_000, 'mine.bin', '0', 'alice');
      expectBoxError(await call(two, 'GET', s.session_endpoints.status, { token: 'bob' }), 403, 'forbidden');
      expectBoxError(await putPart(two, s, bytes(PART), 0, { token: 'bob' }), 403, 'forbidden');
      expect((await putPart(two, s, bytes(PART), 0, { token: 'alice' })).status).toBe(200);
    } finally {
      await two.close();
    }
  });

  it('expired sessions answer 410 session_expired (by expireSessions and by a short TTL)', async () => {
    const s = await createSession(box, 200_000, 'exp.bin');
    box.expireSessions();
    expectBoxError(await call(box, 'GET', s.session_endpoints.status), 410, 'session_expired');
    expectBoxError(await putPart(box, s, bytes(PART), 0), 410, 'session_expired');
    expectBoxError(await commitSession(box, s, [], sha1b64(Buffer.alloc(0))), 410, 'session_expired');
    expectBoxError(await call(box, 'GET', s.session_endpoints.list_parts), 410, 'session_expired');
    // An expired session no longer blocks the same create.
    expect((await call(box, 'POST', '/api/2.0/files/upload_sessions', { json: { folder_id: '0', file_size: 200_000, file_name: 'exp.bin' } })).status).toBe(201);
    expect((await call(box, 'DELETE', s.session_endpoints.abort)).status).toBe(204);

    const shortLived = await startBoxEmulator({ sessionTtlSeconds: 0, minChunkedFileSize: 1 });
    try {
      const t = await createSession(shortLived, 10, 'ttl.bin');
      expect(Date.parse(t.session_expires_at)).toBeLessThanOrEqual(Date.now());
      expectBoxError(await call(shortLived, 'GET', t.session_endpoints.status), 410, 'session_expired');
    } finally {
      await shortLived.close();
    }
  });

  it('answers 404 for unknown paths and 405 for a wrong method, in the ClientError shape', async () => {
    expectBoxError(await call(box, 'GET', '/2.0/nothing/here'), 404, 'not_found');
    const r = await call(box, 'PATCH', '/2.0/files/upload_sessions');
    expectBoxError(r, 405, 'method_not_allowed');
  });
});
