// Manifest sources end to end: an S3 Inventory report (manifest.json and its gzipped CSV files, every
// field quoted, keys URL-encoded as S3 Inventory writes them, older versions and delete markers listed), a
// CSV manifest (header row, RFC 4180 quoting, CRLF) and a JSONL manifest, each read by the real bulk state
// machine's ItemReader (the local runner's Distributed Map emulation) into the emulator. Every object
// must land byte-exact at its mirrored path and the report must hold one line per manifest row.
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBucket, putGeneratedObject } from '../../local/runner/index.ts';
import type { ManifestFormat, ObjectResult, SyncInput } from '../../src/bulk/contract.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv, boxFileAt as boxFileIn } from './harness.ts';
import type { BulkEnv } from './harness.ts';

const MiB = 1024 * 1024;
// Keys a manifest must carry through intact: spaces, unicode, '+', '%', a comma and a double quote.
const OBJECTS = [
  { key: 'exports/plain.txt', size: 10 },
  { key: 'exports/with space/ünïcödé +plus.txt', size: 2_000 },
  { key: 'exports/100% done, "quoted".csv', size: 77 },
  { key: 'exports/empty.bin', size: 0 },
  { key: 'exports/big/chunked one.bin', size: 2 * MiB + 3 },
];
const LISTS = 'lists-bucket';

let env: BulkEnv;
const sha1s = new Map<string, string>();
const etags = new Map<string, string>();

beforeAll(async () => {
  env = await startBulkEnv({ emulator: { minChunkedFileSize: MiB, partSize: MiB }, settings: { directUploadMax: MiB } });
  await ensureBucket(env.s3.client, LISTS);
  for (const o of OBJECTS) {
    const put = await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: o.key, size: o.size });
    sha1s.set(o.key, put.sha1);
    etags.set(o.key, put.etag ?? '');
  }
  // An object that no manifest names: nothing may copy it.
  await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: 'exports/not listed.txt', size: 5 });
}, 120_000);

afterAll(async () => {
  await env?.close();
});

/** S3 Inventory's key encoding (form encoding, as S3 event notifications use): ' ' -> '+', '+' -> '%2B'. */
function inventoryKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

const quote = (v: string): string => `"${v.replace(/"/g, '""')}"`;

async function put(bucket: string, key: string, body: string | Uint8Array): Promise<void> {
  await env.s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function folder(name: string): Promise<string> {
  return (await env.client.folders.createFolder(name, '0')).id;
}

const boxFileAt = (rootId: string, path: string) => boxFileIn(env.box, path, rootId);

async function runManifest(format: ManifestFormat, key: string, folderId: string): Promise<{ report: ObjectResult[]; summary: Awaited<ReturnType<BulkEnv['sync']>['result']> }> {
  const input: SyncInput = {
    source: { bucket: BUCKET, manifest: { bucket: LISTS, key, format } },
    destination: { folderId },
    report: { bucket: REPORT_BUCKET, prefix: `${format}/` },
    options: { uploadsPerMinute: 100_000, objectsPerBatch: 2 },
  };
  const summary = await env.sync(input).result;
  return { summary, report: await env.readReport(summary.report.bucket, summary.report.key) };
}

function expectAllCopied(rootId: string, report: ObjectResult[]): void {
  for (const o of OBJECTS) {
    expect(boxFileAt(rootId, o.key), o.key).toEqual({ sha1: sha1s.get(o.key), size: o.size });
    expect(report.find((r) => r.key === o.key), o.key).toMatchObject({ outcome: 'copied', bytes: o.size, path: o.key, sha1: sha1s.get(o.key) });
  }
  expect(boxFileAt(rootId, 'exports/not listed.txt')).toBeUndefined();
}

describe('bulk runs from manifests (through the bulk state machine)', () => {
  it('S3 Inventory: manifest.json, two gzipped CSV files, quoted fields, URL-encoded keys; older versions and delete markers are not copied', async () => {
    const rows = OBJECTS.map((o) => [BUCKET, inventoryKey(o.key), '', 'true', 'false', String(o.size), '2026-12-01T00:00:00.000Z', etags.get(o.key) ?? ''].map(quote).join(','));
    // A versioned inventory also lists an older version of a key and a delete marker.
    rows.push([BUCKET, inventoryKey('exports/plain.txt'), 'v-old', 'false', 'false', '3', '2026-11-01T00:00:00.000Z', 'abc'].map(quote).join(','));
    rows.push([BUCKET, inventoryKey('exports/gone + deleted.txt'), 'v-del', 'true', 'true', '', '2026-11-02T00:00:00.000Z', ''].map(quote).join(','));
    const base = `inventory/${BUCKET}/daily`;
    const files = [rows.slice(0, 3), rows.slice(3)].map((part, i) => ({ key: `${base}/data/part-${i}.csv.gz`, body: gzipSync(`${part.join('\n')}\n`) }));
    for (const f of files) await put(LISTS, f.key, f.body);
    const manifest = {
      sourceBucket: BUCKET,
      destinationBucket: `arn:aws:s3:::${LISTS}`,
      version: '2016-11-30',
      creationTimestamp: '1764547200000',
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag',
      files: files.map((f) => ({ key: f.key, size: f.body.length, MD5checksum: '0' })),
    };
    await put(LISTS, `${base}/2026-12-01T01-00Z/manifest.json`, JSON.stringify(manifest));

    const root = await folder('from inventory');
    const { summary, report } = await runManifest('inventory', `${base}/2026-12-01T01-00Z/manifest.json`, root);
    expect(summary).toMatchObject({ objects: OBJECTS.length + 2, copied: OBJECTS.length, skipped: 2, failed: 0 });
    expectAllCopied(root, report);
    expect(report).toHaveLength(OBJECTS.length + 2);
    expect(report.filter((r) => r.outcome === 'skipped').map((r) => [r.key, r.reason]).sort()).toEqual([
      ['exports/gone + deleted.txt', 'delete-marker'],
      ['exports/plain.txt', 'not-latest-version'],
    ]);
    // The chunked one went through a nested transfer execution pinned to what the inventory listed.
    expect(env.box.listSessions().filter((s) => s.status === 'committed').map((s) => s.fileName)).toContain('chunked one.bin');
  }, 180_000);

  it('CSV: a header row (columns in any order, extra ones ignored), RFC 4180 quoting, CRLF, keys as they are', async () => {
    const lines = ['size,note,key', ...OBJECTS.map((o) => [String(o.size), quote('a note, with a comma'), /[",\n]/.test(o.key) ? quote(o.key) : o.key].join(','))];
    await put(LISTS, 'manifests/list.csv', `${lines.join('\r\n')}\r\n`);
    const root = await folder('from csv');
    const { summary, report } = await runManifest('csv', 'manifests/list.csv', root);
    expect(summary).toMatchObject({ objects: OBJECTS.length, copied: OBJECTS.length, skipped: 0, failed: 0 });
    expect(report).toHaveLength(OBJECTS.length);
    expectAllCopied(root, report);
  }, 180_000);

  it('JSONL with layout flat: every object into the one folder; two keys with one name meet onConflict (rename), neither is lost', async () => {
    const same = [
      { key: 'flat/a/same name.txt', size: 31 },
      { key: 'flat/b/same name.txt', size: 32 },
    ];
    const sums = new Map<string, string>();
    for (const o of same) sums.set(o.key, (await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: o.key, size: o.size })).sha1);
    await put(LISTS, 'manifests/flat.jsonl', `${same.map((o) => JSON.stringify({ key: o.key })).join('\n')}\n`);
    const root = await folder('flat');
    const summary = await env.sync({
      source: { bucket: BUCKET, manifest: { bucket: LISTS, key: 'manifests/flat.jsonl', format: 'jsonl' } },
      destination: { folderId: root },
      layout: 'flat',
      onConflict: 'rename',
      report: { bucket: REPORT_BUCKET, prefix: 'flat/' },
      options: { uploadsPerMinute: 100_000 },
    }).result;
    expect(summary).toMatchObject({ objects: 2, copied: 2, failed: 0 });
    const files = [env.box.findFile(root, 'same name.txt'), env.box.findFile(root, 'same name (1).txt')];
    expect(files.map((f) => String(f?.sha1)).sort()).toEqual([...sums.values()].sort());
    expect(env.box.findFolder(root, 'a')).toBeUndefined();
  }, 180_000);

  it('JSONL: one {key, size?} a line; a key that does not exist fails alone, with its failure document in the report', async () => {
    const lines = [...OBJECTS.map((o, i) => JSON.stringify(i % 2 === 0 ? { key: o.key } : { key: o.key, size: o.size })), JSON.stringify({ key: 'exports/missing.txt' })];
    await put(LISTS, 'manifests/list.jsonl', `${lines.join('\n')}\n`);
    const root = await folder('from jsonl');
    const { summary, report } = await runManifest('jsonl', 'manifests/list.jsonl', root);
    expect(summary).toMatchObject({ objects: OBJECTS.length + 1, copied: OBJECTS.length, failed: 1 });
    expectAllCopied(root, report);
    expect(report.find((r) => r.key === 'exports/missing.txt')).toMatchObject({ outcome: 'failed', failure: { error: { name: 'Transfer.SourceNotFound' }, resumable: false } });
  }, 180_000);
});
