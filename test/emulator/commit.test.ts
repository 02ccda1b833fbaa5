// Commit over raw HTTP: parts and coverage checks, the whole-file digest, name conflicts, If-Match,
// the 202 + Retry-After processing modes, attributes, and the File JSON it answers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator, UploadPartJson } from '../../local/box-emulator/index.ts';
import { bytes, call, chunkedUpload, commitSession, createSession, directUpload, expectBoxError, putPart, sha1b64, sha1hex, uploadAllParts } from './helpers.ts';

const PART = 64 * 1024;
const SIZE = 4 * PART + 123;
let box: BoxEmulator;
let data: Buffer;

beforeEach(async () => {
  box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1 });
  data = bytes(SIZE, 21);
});
afterEach(async () => {
  await box.close();
});

async function ready(name: string, target = box): Promise<{ s: Awaited<ReturnType<typeof createSession>>; parts: UploadPartJson[] }> {
  const s = await createSession(target, SIZE, name);
  return { s, parts: await uploadAllParts(target, s, data) };
}

describe('commit', () => {
  it('answers 201 Files with a realistic File', async () => {
    const { s, parts } = await ready('file.bin');
    const r = await commitSession(box, s, parts, sha1b64(data));
    expect(r.status).toBe(201);
    expect(r.json.total_count).toBe(1);
    const f = r.json.entries[0];
    expect(f).toMatchObject({
      type: 'file',
      id: expect.stringMatching(/^\d+$/),
      etag: '0',
      sequence_id: '0',
      name: 'file.bin',
      size: SIZE,
      sha1: sha1hex(data),
      file_version: { type: 'file_version', id: expect.stringMatching(/^\d+$/), sha1: sha1hex(data) },
      parent: { type: 'folder', id: '0', name: 'All Files' },
      path_collection: { total_count: 1, entries: [{ type: 'folder', id: '0', name: 'All Files' }] },
      item_status: 'active',
      trashed_at: null,
      purged_at: null,
      shared_link: null,
      created_by: { type: 'user' },
      owned_by: { type: 'user' },
    });
    for (const k of ['created_at', 'modified_at', 'content_created_at', 'content_modified_at']) {
      expect(f[k]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    }
    expect(box.getFile(f.id)).toEqual(f);
    expect((await call(box, 'GET', `/2.0/files/${f.id}`)).json).toEqual(f);
    expect(box.listSessions()[0]).toMatchObject({ status: 'committed', committedFileId: f.id, partsUploaded: 5 });
  });

  it('accepts parts in any order, with sha1 null, and takes attributes (content_*_at, description)', async () => {
    const { s, parts } = await ready('attrs.bin');
    const shuffled = [...parts].reverse().map((p, i) => (i === 0 ? { ...p, sha1: null } : p));
    const r = await call(box, 'POST', s.session_endpoints.commit, {
      headers: { digest: `SHA=${sha1b64(data)}` },
      json: { parts: shuffled, attributes: { content_modified_at: '2020-01-02T03:04:05-08:00', content_created_at: '2019-05-06T07:08:09Z', description: 'hello' } },
    });
    expect(r.status).toBe(201);
    expect(r.json.entries[0]).toMatchObject({
      content_modified_at: '2020-01-02T11:04:05+00:00',
      content_created_at: '2019-05-06T07:08:09+00:00',
      description: 'hello',
    });
  });

  it('computes the whole-file digest whatever order the parts arrived in', async () => {
    const s = await createSession(box, SIZE, 'reverse.bin');
    const parts: UploadPartJson[] = [];
    for (const i of [4, 2, 3, 0, 1]) {
      const start = i * PART;
      parts[i] = (await putPart(box, s, data.subarray(start, Math.min(start + PART, SIZE)), start)).json.part;
    }
    const r = await commitSession(box, s, parts, sha1b64(data));
    expect(r.status).toBe(201);
    expect(r.json.entries[0].sha1).toBe(sha1hex(data));
  });

  it('answers 400 parts_mismatch when a listed part is not on the server (Box message text)', async () => {
    const { s, parts } = await ready('pm.bin');
    const wrongId = parts.map((p, i) => (i === 2 ? { ...p, part_id: '00000000' } : p));
    const r = await commitSession(box, s, wrongId, sha1b64(data));
    expectBoxError(r, 400, 'parts_mismatch');
    expect(r.json.message).toMatch(/^No matching part found on server for \{"part_id":"00000000","offset":131072,"size":65536,"sha1":/);
    const wrongSha = parts.map((p, i) => (i === 1 ? { ...p, sha1: '0'.repeat(40) } : p));
    expectBoxError(await commitSession(box, s, wrongSha, sha1b64(data)), 400, 'parts_mismatch');
    const wrongSize = parts.map((p, i) => (i === 4 ? { ...p, size: p.size + 1 } : p));
    expectBoxError(await commitSession(box, s, wrongSize, sha1b64(data)), 400, 'parts_mismatch');
    expectBoxError(await commitSession(box, s, parts.slice(1), sha1b64(data)), 400, 'parts_mismatch');
    expectBoxError(await commitSession(box, s, [...parts, parts[0]!], sha1b64(data)), 400, 'parts_mismatch');
    expect((await commitSession(box, s, parts, sha1b64(data))).status).toBe(201);
  });

  it('answers 400 parts_mismatch when the stored parts do not cover the file', async () => {
    const s = await createSession(box, SIZE, 'gap.bin');
    const parts: UploadPartJson[] = [];
    for (const i of [0, 1, 3]) parts.push((await putPart(box, s, data.subarray(i * PART, (i + 1) * PART), i * PART)).json.part);
    const r = await commitSession(box, s, parts, sha1b64(data));
    expectBoxError(r, 400, 'parts_mismatch');
    expect(r.json.message).toContain('3 of 5');
  });

  it('answers 400 digest_mismatch with Box\'s message when the whole-file digest is wrong', async () => {
    const { s, parts } = await ready('dm.bin');
    const wrong = sha1b64(Buffer.from('other'));
    const r = await commitSession(box, s, parts, wrong);
    expectBoxError(r, 400, 'digest_mismatch');
    expect(r.json.message).toBe(`File digest was incorrect. Actual: ${sha1b64(data)} Expected: ${wrong}`);
    expect((await commitSession(box, s, parts, sha1b64(data))).status).toBe(201);
  });

  it('answers 400 bad_request without a Digest or without parts', async () => {
    const { s, parts } = await ready('nd.bin');
    expectBoxError(await call(box, 'POST', s.session_endpoints.commit, { json: { parts } }), 400, 'bad_request');
    expectBoxError(await call(box, 'POST', s.session_endpoints.commit, { headers: { digest: `sha=${sha1b64(data)}` }, json: {} }), 400, 'bad_request');
  });

  it('answers 409 item_name_in_use when the name was taken after the session began', async () => {
    const { s, parts } = await ready('late.bin');
    const other = await directUpload(box, Buffer.from('small'), { name: 'late.bin', parent: { id: '0' } });
    expect(other.status).toBe(201);
    const r = await commitSession(box, s, parts, sha1b64(data));
    expectBoxError(r, 409, 'item_name_in_use');
    expect(r.json.context_info.conflicts).toMatchObject({ type: 'file', id: other.json.entries[0].id, name: 'late.bin' });
  });

  it('If-Match / If-None-Match: 412 precondition_failed when they do not hold', async () => {
    const file = await chunkedUpload(box, bytes(200_000, 1), 'etag.bin');
    const v = bytes(SIZE, 2);
    const s = (await call(box, 'POST', `/api/2.0/files/${file.id}/upload_sessions`, { json: { file_size: SIZE } })).json;
    const parts = await uploadAllParts(box, s, v);
    expectBoxError(await commitSession(box, s, parts, sha1b64(v), { headers: { 'if-match': '7' } }), 412, 'precondition_failed');
    expectBoxError(await commitSession(box, s, parts, sha1b64(v), { headers: { 'if-none-match': '0' } }), 412, 'precondition_failed');
    expectBoxError(await commitSession(box, s, parts, sha1b64(v), { headers: { 'if-none-match': '*' } }), 412, 'precondition_failed');
    const ok = await commitSession(box, s, parts, sha1b64(v), { headers: { 'if-match': '0' } });
    expect(ok.status).toBe(201);
    expect(ok.json.entries[0].etag).toBe('1');
    // A new file: If-Match cannot hold (nothing there yet).
    const n = await ready('fresh.bin');
    expectBoxError(await commitSession(box, n.s, n.parts, sha1b64(data), { headers: { 'if-match': '0' } }), 412, 'precondition_failed');
  });

  it('the same commit again answers 201 with the same file (a lost answer retried)', async () => {
    const { s, parts } = await ready('again.bin');
    const first = await commitSession(box, s, parts, sha1b64(data));
    const second = await commitSession(box, s, parts, sha1b64(data));
    expect(second.status).toBe(201);
    expect(second.json.entries[0].id).toBe(first.json.entries[0].id);
    expect(second.json.entries[0].file_version.id).toBe(first.json.entries[0].file_version.id);
    // A committed session's ranges are all taken.
    expectBoxError(await putPart(box, s, data.subarray(0, PART), 0), 416, 'range_overlaps_existing_part');
    expect((await call(box, 'GET', s.session_endpoints.status)).json.num_parts_processed).toBe(5);
  });

  it('concurrent commits of one session create one file', async () => {
    const { s, parts } = await ready('twice.bin');
    const [a, b] = await Promise.all([commitSession(box, s, parts, sha1b64(data)), commitSession(box, s, parts, sha1b64(data))]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.json.entries[0].id).toBe(b.json.entries[0].id);
    expect((await call(box, 'GET', '/2.0/folders/0/items')).json.total_count).toBe(1);
  });
});

describe('commit processing (202)', () => {
  it('count mode: N answers 202 with Retry-After, no content type and an empty body, then 201', async () => {
    const slow = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, commitProcessing: { mode: 'count', times: 2, retryAfterSeconds: 3 } });
    try {
      const { s, parts } = await ready('slow.bin', slow);
      expect((await call(slow, 'GET', s.session_endpoints.status)).json.num_parts_processed).toBe(4);
      for (let i = 0; i < 2; i++) {
        const r = await commitSession(slow, s, parts, sha1b64(data));
        expect(r.status).toBe(202);
        expect(r.headers['retry-after']).toBe('3');
        expect(r.headers['content-type']).toBeUndefined();
        expect(r.text).toBe('');
      }
      const done = await commitSession(slow, s, parts, sha1b64(data));
      expect(done.status).toBe(201);
      expect((await slow.readFileContent(done.json.entries[0].id)).equals(data)).toBe(true);
      expect(slow.stats().requests.commit).toBe(3);
    } finally {
      await slow.close();
    }
  });

  it('count mode still checks the parts first (parts_mismatch is not hidden behind a 202)', async () => {
    const slow = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, commitProcessing: { mode: 'count', times: 1, retryAfterSeconds: 1 } });
    try {
      const { s, parts } = await ready('early.bin', slow);
      expectBoxError(await commitSession(slow, s, parts.slice(1), sha1b64(data)), 400, 'parts_mismatch');
      expect((await commitSession(slow, s, parts, sha1b64(data))).status).toBe(202);
    } finally {
      await slow.close();
    }
  });

  it('proportional mode: 202 while the parts are being processed, num_parts_processed lags, then 201', async () => {
    // 1 byte per second: processing never finishes within the test, so it stays 202.
    const lagging = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, commitProcessing: { mode: 'proportional', bytesPerSecond: 1, retryAfterSeconds: 1 } });
    try {
      const { s, parts } = await ready('prop.bin', lagging);
      expect((await call(lagging, 'GET', s.session_endpoints.status)).json.num_parts_processed).toBe(0);
      const r = await commitSession(lagging, s, parts, sha1b64(data));
      expect(r.status).toBe(202);
      expect(r.headers['retry-after']).toBe('1');
    } finally {
      await lagging.close();
    }
    // Very fast processing: done by the time the commit comes.
    const quick = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, commitProcessing: { mode: 'proportional', bytesPerSecond: 1e12, retryAfterSeconds: 1 } });
    try {
      const { s, parts } = await ready('prop.bin', quick);
      for (let i = 0; i < 100 && (await call(quick, 'GET', s.session_endpoints.status)).json.num_parts_processed < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect((await commitSession(quick, s, parts, sha1b64(data))).status).toBe(201);
    } finally {
      await quick.close();
    }
  });
});
