// Part uploads over raw HTTP: every rule of the reference's PUT catalogue, chunked request bodies,
// and many parts in parallel.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { bytes, call, commitSession, createSession, expectBoxError, putPart, sha1b64, sha1hex } from './helpers.ts';
import { createHash } from 'node:crypto';

const PART = 64 * 1024;
const SIZE = 3 * PART + 1000; // three full parts and a short last one
let box: BoxEmulator;
let data: Buffer;

beforeEach(async () => {
  box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1 });
  data = bytes(SIZE, 7);
});
afterEach(async () => {
  await box.close();
});

const slice = (i: number): Buffer => data.subarray(i * PART, Math.min((i + 1) * PART, SIZE));

describe('upload part', () => {
  it('stores a part and answers 200 {part:{part_id, offset, size, sha1 (lower-case hex)}}', async () => {
    const s = await createSession(box, SIZE, 'p.bin');
    const r = await putPart(box, s, slice(1), PART);
    expect(r.status).toBe(200);
    expect(r.json.part).toEqual({ part_id: expect.stringMatching(/^[0-9A-F]{8}$/), offset: PART, size: PART, sha1: sha1hex(slice(1)) });
    const last = await putPart(box, s, slice(3), 3 * PART);
    expect(last.json.part).toMatchObject({ offset: 3 * PART, size: 1000 });
  });

  it('accepts a chunked request body without Content-Length', async () => {
    const s = await createSession(box, SIZE, 'chunked.bin');
    const r = await putPart(box, s, slice(0), 0, { chunked: true });
    expect(r.status).toBe(200);
    expect(r.json.part.sha1).toBe(sha1hex(slice(0)));
  });

  it('accepts SHA= (upper case) and sha-256= digests', async () => {
    const s = await createSession(box, SIZE, 'algs.bin');
    expect((await putPart(box, s, slice(0), 0, { digest: `SHA=${sha1b64(slice(0))}` })).status).toBe(200);
    const sha256 = createHash('sha256').update(slice(1)).digest('base64');
    const r = await putPart(box, s, slice(1), PART, { digest: `sha-256=${sha256}` });
    expect(r.status).toBe(200);
    expect(r.json.part.sha1).toBe(sha1hex(slice(1)));
    const bad = await putPart(box, s, slice(2), 2 * PART, { digest: `sha-256=${createHash('sha256').update('x').digest('base64')}` });
    expect(bad.status).toBe(412);
  });

  it('answers 400 bad_request without Digest or Content-Range, or with an unusable Digest', async () => {
    const s = await createSession(box, SIZE, 'hdr.bin');
    expectBoxError(await putPart(box, s, slice(0), 0, { digest: '' }), 400, 'bad_request');
    expectBoxError(await putPart(box, s, slice(0), 0, { digest: 'md5=abc' }), 400, 'bad_request');
    expectBoxError(await putPart(box, s, slice(0), 0, { digest: 'sha=bm90LWEtc2hhMQ==' }), 400, 'bad_request');
    const noRange = await call(box, 'PUT', s.session_endpoints.upload_part, { headers: { digest: `sha=${sha1b64(slice(0))}` }, body: slice(0) });
    expectBoxError(noRange, 400, 'bad_request');
  });

  it.each([
    ['a Content-Range that does not parse', () => 'bytes=0-65535'],
    ['a total different from file_size', () => `bytes 0-${PART - 1}/${SIZE + 1}`],
    ['a misaligned start', () => `bytes 1-${PART}/${SIZE}`],
    ['a part shorter than part_size that is not the last', () => `bytes 0-${PART - 2}/${SIZE}`],
    ['a part longer than part_size', () => `bytes 0-${PART}/${SIZE}`],
    ['a range past the end of the file', () => `bytes ${3 * PART}-${SIZE}/${SIZE}`],
    ['last < first', () => `bytes ${PART}-0/${SIZE}`],
  ])('answers 416 for %s', async (_what, range) => {
    const s = await createSession(box, SIZE, 'range.bin');
    const r = await putPart(box, s, slice(0), 0, { range: range() });
    expectBoxError(r, 416, 'requested_range_not_satisfiable');
    expect(box.listSessions()[0]?.partsUploaded).toBe(0);
  });

  it('answers 416 range_overlaps_existing_part with context_info.conflicting_part on a retry of a stored part', async () => {
    const s = await createSession(box, SIZE, 'overlap.bin');
    const first = await putPart(box, s, slice(2), 2 * PART);
    expect(first.status).toBe(200);
    const again = await putPart(box, s, slice(2), 2 * PART);
    expectBoxError(again, 416, 'range_overlaps_existing_part');
    expect(again.json.context_info.conflicting_part).toEqual(first.json.part);
    expect(again.json.message).toContain(first.json.part.part_id);
    // The same range with other bytes also overlaps; the stored part is immutable.
    const other = await putPart(box, s, bytes(PART, 99), 2 * PART);
    expectBoxError(other, 416, 'range_overlaps_existing_part');
    const list = await call(box, 'GET', s.session_endpoints.list_parts);
    expect(list.json.entries).toEqual([first.json.part]);
  });

  it('waits for an in-flight upload of the same range, then answers 416 with the part it stored', async () => {
    const s = await createSession(box, SIZE, 'race.bin');
    const [a, b] = await Promise.all([putPart(box, s, slice(0), 0, { chunked: true }), putPart(box, s, slice(0), 0, { chunked: true })]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 416]);
    const winner = a.status === 200 ? a : b;
    const loser = a.status === 200 ? b : a;
    expect(loser.json.context_info.conflicting_part).toEqual(winner.json.part);
  });

  it('answers 412 digest_mismatch when the Digest does not match the bytes (status configurable)', async () => {
    const s = await createSession(box, SIZE, 'digest.bin');
    const r = await putPart(box, s, slice(0), 0, { digest: `sha=${sha1b64(slice(1))}` });
    expectBoxError(r, 412, 'digest_mismatch');
    // Nothing stored: the right bytes go in afterwards.
    expect((await putPart(box, s, slice(0), 0)).status).toBe(200);
    const strict = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, partDigestMismatchStatus: 400 });
    try {
      const t = await createSession(strict, SIZE, 'digest.bin');
      expectBoxError(await putPart(strict, t, slice(0), 0, { digest: `sha=${sha1b64(slice(1))}` }), 400, 'digest_mismatch');
    } finally {
      await strict.close();
    }
  });

  it('the corruptBody fault damages a part on the way in: its own Digest check refuses it, nothing stored; the same bytes again are stored', async () => {
    const s = await createSession(box, SIZE, 'damaged.bin');
    box.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'corruptBody' } });
    expectBoxError(await putPart(box, s, slice(0), 0), 412, 'digest_mismatch');
    expect(box.listSessions().find((x) => x.id === s.id)?.partsUploaded).toBe(0);
    const stored = await putPart(box, s, slice(0), 0);
    expect(stored.status).toBe(200);
    expect(stored.json.part).toMatchObject({ offset: 0, size: PART, sha1: createHash('sha1').update(slice(0)).digest('hex') });
  });

  it('answers 400 when the body length does not match the range (Content-Length, or a chunked body)', async () => {
    const s = await createSession(box, SIZE, 'len.bin');
    const short = slice(0).subarray(0, PART - 10);
    const range = `bytes 0-${PART - 1}/${SIZE}`;
    expectBoxError(await putPart(box, s, short, 0, { range, digest: `sha=${sha1b64(short)}` }), 400, 'bad_request');
    expectBoxError(await putPart(box, s, short, 0, { range, digest: `sha=${sha1b64(short)}`, chunked: true }), 400, 'bad_request');
    const long = Buffer.concat([slice(0), Buffer.from('extra')]);
    expectBoxError(await putPart(box, s, long, 0, { range, digest: `sha=${sha1b64(long)}`, chunked: true }), 400, 'bad_request');
    // The connection stays usable and the part can still be stored.
    expect((await putPart(box, s, slice(0), 0)).status).toBe(200);
  });

  it('stays byte-exact with 40 parts in parallel, and counts them in flight', async () => {
    const n = 40;
    const big = bytes(n * PART, 11);
    const s = await createSession(box, big.length, 'parallel.bin');
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => putPart(box, s, big.subarray(i * PART, (i + 1) * PART), i * PART, { chunked: i % 2 === 0 })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
    const stats = box.stats();
    expect(stats.requests.uploadPart).toBe(n);
    expect(stats.partsInFlight).toBe(0);
    expect(stats.maxPartsInFlight).toBeGreaterThan(1);
    expect(stats.maxPartsInFlight).toBeLessThanOrEqual(n);
    const c = await commitSession(box, s, answers.map((a) => a.json.part), sha1b64(big));
    expect(c.status).toBe(201);
    expect((await box.readFileContent(c.json.entries[0].id)).equals(big)).toBe(true);
  });

  it('drops a part whose client went away mid-body, and takes it again afterwards', async () => {
    const s = await createSession(box, SIZE, 'gone.bin');
    const controller = new AbortController();
    const body = new Readable({ read() {} });
    const pending = request(s.session_endpoints.upload_part, {
      method: 'PUT',
      headers: { authorization: `Bearer ${box.token}`, digest: `sha=${sha1b64(slice(0))}`, 'content-range': `bytes 0-${PART - 1}/${SIZE}` },
      body,
      signal: controller.signal,
    }).catch((err: unknown) => err);
    body.push(slice(0).subarray(0, 1000));
    // Wait until the emulator has the request, then abort mid-body.
    for (let i = 0; i < 200 && box.stats().partsInFlight === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(box.stats().partsInFlight).toBe(1);
    controller.abort();
    await pending;
    for (let i = 0; i < 200 && box.stats().partsInFlight !== 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(box.stats().partsInFlight).toBe(0);
    expect(box.listSessions()[0]?.partsUploaded).toBe(0);
    expect((await putPart(box, s, slice(0), 0)).status).toBe(200);
  });
});
