// Direct uploads (multipart), file info, downloads (whole and ranged), folders and their items.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { bytes, call, chunkedUpload, directUpload, download, expectBoxError, multipartBody, sha1hex } from './helpers.ts';

let box: BoxEmulator;
beforeEach(async () => {
  box = await startBoxEmulator({ partSize: 64 * 1024, minChunkedFileSize: 1 });
});
afterEach(async () => {
  await box.close();
});

describe('direct upload POST /files/content', () => {
  it('stores the file (attributes before file) and answers 201 Files', async () => {
    const data = bytes(300_000, 4);
    const r = await directUpload(box, data, { name: 'd.bin', parent: { id: '0' }, content_modified_at: '2021-02-03T04:05:06Z' }, { headers: { 'content-md5': sha1hex(data) } });
    expect(r.status).toBe(201);
    const f = r.json.entries[0];
    expect(f).toMatchObject({ type: 'file', name: 'd.bin', size: data.length, sha1: sha1hex(data), content_modified_at: '2021-02-03T04:05:06+00:00', parent: { id: '0' } });
    expect((await box.readFileContent(f.id)).equals(data)).toBe(true);
    expect(box.stats().requests.uploadFile).toBe(1);
  });

  it('accepts a chunked multipart body, and a Content-MD5 in upper case', async () => {
    const data = bytes(100_000, 5);
    const r = await directUpload(box, data, { name: 'c.bin', parent: { id: '0' } }, { chunked: true, headers: { 'content-md5': sha1hex(data).toUpperCase() } });
    expect(r.status).toBe(201);
    expect((await box.readFileContent(r.json.entries[0].id)).equals(data)).toBe(true);
  });

  it('keeps bytes that look like a boundary prefix intact', async () => {
    const data = Buffer.concat([Buffer.from('\r\n--'), bytes(1000), Buffer.from('\r\n-'), Buffer.from('\r\n')]);
    const r = await directUpload(box, data, { name: 'tricky.bin', parent: { id: '0' } });
    expect(r.status).toBe(201);
    expect((await box.readFileContent(r.json.entries[0].id)).equals(data)).toBe(true);
  });

  it('answers 400 bad_digest when Content-MD5 (the SHA-1) does not match', async () => {
    const r = await directUpload(box, bytes(1000), { name: 'x.bin', parent: { id: '0' } }, { headers: { 'content-md5': sha1hex(Buffer.from('no')) } });
    expectBoxError(r, 400, 'bad_digest');
    expect(box.findFile('0', 'x.bin')).toBeUndefined();
  });

  it('answers 400 metadata_after_file_contents when the file part comes first', async () => {
    const r = await directUpload(box, bytes(1000), { name: 'x.bin', parent: { id: '0' } }, { fileFirst: true });
    expectBoxError(r, 400, 'metadata_after_file_contents');
  });

  it('answers 409 item_name_in_use with conflicts as an object', async () => {
    const first = await directUpload(box, bytes(10), { name: 'same.bin', parent: { id: '0' } });
    const r = await directUpload(box, bytes(10), { name: 'SAME.bin', parent: { id: '0' } });
    expectBoxError(r, 409, 'item_name_in_use');
    expect(r.json.context_info.conflicts).toMatchObject({ type: 'file', id: first.json.entries[0].id, sha1: sha1hex(bytes(10)) });
  });

  it('of many uploads of one name at once, one makes the file and every other meets 409 item_name_in_use', async () => {
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => directUpload(box, bytes(10 + i, i + 1), { name: 'race.bin', parent: { id: '0' } })));
    expect(answers.map((r) => r.status).sort()).toEqual([201, ...Array.from({ length: 23 }, () => 409)]);
    const made = answers.find((r) => r.status === 201)!.json.entries[0];
    for (const r of answers.filter((a) => a.status === 409)) expect(r.json.context_info.conflicts).toMatchObject({ id: made.id });
    const items = await call(box, 'GET', '/2.0/folders/0/items');
    expect(items.json.entries.filter((e: { name: string }) => e.name === 'race.bin')).toHaveLength(1);
  });

  it('answers 404 for a missing parent folder and 400 for bad names or a missing part', async () => {
    expectBoxError(await directUpload(box, bytes(10), { name: 'x', parent: { id: '424242' } }), 404, 'not_found');
    expectBoxError(await directUpload(box, bytes(10), { name: 'a/b', parent: { id: '0' } }), 400, 'item_name_invalid');
    expectBoxError(await directUpload(box, bytes(10), { name: 'n'.repeat(256), parent: { id: '0' } }), 400, 'item_name_too_long');
    expectBoxError(await directUpload(box, bytes(10), { name: 'x' }), 400, 'bad_request');
    const onlyAttrs = multipartBody([{ name: 'attributes', content: JSON.stringify({ name: 'x', parent: { id: '0' } }) }]);
    expectBoxError(await call(box, 'POST', '/api/2.0/files/content', { headers: { 'content-type': onlyAttrs.contentType }, body: onlyAttrs.body }), 400, 'bad_request');
    expectBoxError(await call(box, 'POST', '/api/2.0/files/content', { headers: { 'content-type': 'application/json' }, body: '{}' }), 400, 'bad_request');
  });

  it('POST /files/{id}/content adds a version (If-Match checked), renames on request', async () => {
    const v1 = bytes(1000, 1);
    const f = (await directUpload(box, v1, { name: 'ver.bin', parent: { id: '0' } })).json.entries[0];
    const v2 = bytes(2000, 2);
    expectBoxError(await directUpload(box, v2, {}, { fileId: f.id, headers: { 'if-match': '5' } }), 412, 'precondition_failed');
    const r = await directUpload(box, v2, { name: 'ver2.bin' }, { fileId: f.id, headers: { 'if-match': '0' } });
    expect(r.status).toBe(201);
    expect(r.json.entries[0]).toMatchObject({ id: f.id, name: 'ver2.bin', size: 2000, etag: '1', sha1: sha1hex(v2) });
    expect((await download(box, f.id)).body.equals(v2)).toBe(true);
    // The first version stays reachable.
    const old = await call(box, 'GET', `/2.0/files/${f.id}/content?version=${f.file_version.id}`);
    expect(old.status).toBe(200);
    expect(box.stats().requests.uploadFileVersion).toBe(2);
    expectBoxError(await directUpload(box, v2, {}, { fileId: '999' }), 404, 'not_found');
  });
});

describe('files and downloads', () => {
  it('GET /files/{id} answers the File, 404 for an unknown id', async () => {
    const f = await chunkedUpload(box, bytes(200_000), 'info.bin');
    const r = await call(box, 'GET', `/2.0/files/${f.id}`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual(f);
    expectBoxError(await call(box, 'GET', '/2.0/files/12345'), 404, 'not_found');
  });

  it('downloads byte-exact, whole and by Range; 416 for a range past the end', async () => {
    const data = bytes(333_333, 8);
    const f = await chunkedUpload(box, data, 'dl.bin');
    const whole = await download(box, f.id);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-length']).toBe(String(data.length));
    expect(sha1hex(whole.body)).toBe(sha1hex(data));
    const part = await download(box, f.id, { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${data.length}`);
    expect(part.body.equals(data.subarray(1000, 2000))).toBe(true);
    const tail = await download(box, f.id, { range: 'bytes=-10' });
    expect(tail.body.equals(data.subarray(data.length - 10))).toBe(true);
    const open = await download(box, f.id, { range: `bytes=${data.length - 5}-` });
    expect(open.body.equals(data.subarray(data.length - 5))).toBe(true);
    expect((await download(box, f.id, { range: `bytes=${data.length}-` })).status).toBe(416);
    expect((await download(box, '4040404')).status).toBe(404);
    expect(box.fileContentPath(f.id).startsWith(box.dataDir)).toBe(true);
  });
});

describe('folders', () => {
  it('POST /folders creates, 409 conflicts as a list, 404 for a missing parent, 400 for a bad name', async () => {
    const r = await call(box, 'POST', '/2.0/folders', { json: { name: 'Reports', parent: { id: '0' } } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ type: 'folder', name: 'Reports', parent: { id: '0' }, path_collection: { total_count: 1 } });
    const dup = await call(box, 'POST', '/2.0/folders', { json: { name: 'reports', parent: { id: '0' } } });
    expectBoxError(dup, 409, 'item_name_in_use');
    expect(dup.json.context_info.conflicts).toEqual([expect.objectContaining({ type: 'folder', id: r.json.id })]);
    expectBoxError(await call(box, 'POST', '/2.0/folders', { json: { name: 'x', parent: { id: '777' } } }), 404, 'not_found');
    expectBoxError(await call(box, 'POST', '/2.0/folders', { json: { name: '', parent: { id: '0' } } }), 400, 'bad_request');
    const sub = await call(box, 'POST', '/2.0/folders', { json: { name: 'Q1', parent: { id: r.json.id } } });
    expect(sub.json.path_collection.entries.map((e: { id: string }) => e.id)).toEqual(['0', r.json.id]);
  });

  it('GET /folders/{id}/items lists folders then files, paged; 404 for an unknown folder', async () => {
    await box.createFolder('b-folder');
    await box.createFolder('a-folder');
    const f = await chunkedUpload(box, bytes(100_000), 'z.bin');
    await directUpload(box, bytes(10), { name: 'm.bin', parent: { id: '0' } });
    const r = await call(box, 'GET', '/2.0/folders/0/items');
    expect(r.status).toBe(200);
    expect(r.json.total_count).toBe(4);
    expect(r.json.entries.map((e: { name: string }) => e.name)).toEqual(['a-folder', 'b-folder', 'm.bin', 'z.bin']);
    expect(r.json.entries[3]).toMatchObject({ type: 'file', id: f.id, sha1: f.sha1, file_version: { type: 'file_version' } });
    const page = await call(box, 'GET', '/2.0/folders/0/items?offset=1&limit=2');
    expect(page.json).toMatchObject({ total_count: 4, offset: 1, limit: 2 });
    expect(page.json.entries.map((e: { name: string }) => e.name)).toEqual(['b-folder', 'm.bin']);
    expectBoxError(await call(box, 'GET', '/2.0/folders/31337/items'), 404, 'not_found');
  });

  it('createFolder() seeds folders directly and refuses duplicates', async () => {
    const a = await box.createFolder('Seed');
    const b = await box.createFolder('Inner', a.id);
    expect((await call(box, 'GET', `/2.0/folders/${a.id}/items`)).json.entries[0]).toMatchObject({ id: b.id, name: 'Inner' });
    await expect(box.createFolder('seed')).rejects.toThrow();
    await expect(box.createFolder('x', '999')).rejects.toThrow();
  });
});
