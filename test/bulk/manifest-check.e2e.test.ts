// A bulk run's input refused before anything is listed, through the real bulk state machine (PlanSync over
// s3rver and the Box emulator): a manifest the ItemReader could not read or whose items name no key
// (Transfer.InvalidInput naming the manifest, its format and what is missing), a manifest S3 does not have,
// one that lists a key twice or more keys than PlanSync's cap, and a report prefix inside the synced prefix.
// A bad line past what PlanSync reads still fails the run at the local ItemReader, whose message names the
// manifest and the line.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBucket, putGeneratedObject } from '../../local/runner/index.ts';
import type { ManifestFormat, SyncInput } from '../../src/bulk/contract.ts';
import { validateSyncInput } from '../../src/bulk/input.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv } from './harness.ts';
import type { BulkEnv } from './harness.ts';

const LISTS = 'lists-bucket';
let env: BulkEnv;

beforeAll(async () => {
  env = await startBulkEnv({});
  await ensureBucket(env.s3.client, LISTS);
  await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: 'x/a.txt', size: 10 });
}, 120_000);
afterAll(async () => {
  await env?.close();
});

async function put(key: string, body: string): Promise<void> {
  await env.s3.client.send(new PutObjectCommand({ Bucket: LISTS, Key: key, Body: body }));
}

function manifestInput(key: string, format: ManifestFormat): SyncInput {
  return {
    source: { bucket: BUCKET, manifest: { bucket: LISTS, key, format } },
    destination: { folderId: '0' },
    report: { bucket: REPORT_BUCKET, prefix: 'checked/' },
    options: { uploadsPerMinute: 100_000 },
  };
}

/** S3 requests that list a bucket or read a source object, so far. */
function listingsAndSourceReads(of: BulkEnv = env): number {
  const listings = Object.entries(of.s3Calls).filter(([name]) => name.startsWith('ListObjects')).reduce((n, [, c]) => n + c, 0);
  return listings + of.sourceReads();
}

/** Puts `body` as the manifest `key`, runs a sync of it, and checks PlanSync refused it (Transfer.InvalidInput) before anything was listed, read or started in Box; its message. */
async function refusedBeforeListing(key: string, format: ManifestFormat, body: string): Promise<string> {
  await put(key, body);
  const before = listingsAndSourceReads();
  const error = await env.sync(manifestInput(key, format)).result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ name: 'Transfer.InvalidInput' });
  expect(listingsAndSourceReads()).toBe(before);
  expect(env.box.listSessions()).toEqual([]);
  return (error as Error).message;
}

const INVENTORY = { sourceBucket: BUCKET, destinationBucket: `arn:aws:s3:::${LISTS}`, fileFormat: 'CSV', fileSchema: 'Bucket, Key, Size', files: [{ key: 'inv/data/a.csv.gz' }] };

describe('PlanSync refuses a malformed manifest before anything is listed', { timeout: 60_000 }, () => {
  it.each([
    ['a JSONL line that is not JSON', 'm/bad.jsonl', 'jsonl', '{"key":"x/a.txt"}\nnot json\n', 'line 2 is not JSON'],
    ['a JSONL line that is not an object', 'm/array.jsonl', 'jsonl', '\n["x/a.txt"]\n', 'line 2 is not a JSON object'],
    ['JSONL lines without a key', 'm/nokey.jsonl', 'jsonl', '{"name":"x/a.txt","size":10}\n', 'line 1 has no "key" (found fields name, size)'],
    ['a CSV header without a key column', 'm/nokey.csv', 'csv', 'name,size\nx/a.txt,10\n', 'has no "key" column in its header row (found "name","size")'],
    ['a CSV header behind a byte order mark', 'm/bom.csv', 'csv', '\uFEFFkey,size\nx/a.txt,10\n', 'the file starts with a byte order mark'],
    ['an Inventory manifest.json that is not JSON', 'inv/not-json/manifest.json', 'inventory', 'hello', 'is not JSON'],
    ['an Inventory manifest.json without files', 'inv/no-files/manifest.json', 'inventory', JSON.stringify({ ...INVENTORY, files: undefined }), 'has no "files" list'],
    ['an Inventory whose fileSchema has no Key', 'inv/no-key/manifest.json', 'inventory', JSON.stringify({ ...INVENTORY, fileSchema: 'Bucket, Size' }), 'has a fileSchema without Key'],
    ['an Inventory of ORC files', 'inv/orc/manifest.json', 'inventory', JSON.stringify({ ...INVENTORY, fileFormat: 'ORC' }), 'lists ORC files'],
  ] as const)('%s: Transfer.InvalidInput naming the manifest, its format and what is missing', async (_what, key, format, body, missing) => {
    const message = await refusedBeforeListing(key, format, body);
    expect(message).toContain(`source.manifest s3://${LISTS}/${key} (format ${format})`);
    expect(message).toContain(missing);
    expect(message).toContain('Expected: ');
  });

  it('a manifest S3 does not have: Transfer.SourceNotFound naming it', async () => {
    const before = listingsAndSourceReads();
    await expect(env.sync(manifestInput('m/missing.jsonl', 'jsonl')).result).rejects.toMatchObject({
      name: 'Transfer.SourceNotFound',
      message: expect.stringContaining(`source.manifest: s3://${LISTS}/m/missing.jsonl not found`) as unknown,
    });
    expect(listingsAndSourceReads()).toBe(before);
  });

  it('a good start passes; a bad line past the 256 KiB PlanSync reads fails at the ItemReader, which names the manifest and the line', async () => {
    const lines = 20_000; // about 480 KiB: past the start PlanSync checks line by line
    const good = Array.from({ length: lines }, (_, i) => `{"key":"x/a-${i}.txt"}\n`).join('');
    expect(good.length).toBeGreaterThan(300 * 1024);
    await put('m/late.jsonl', `${good}not json\n`);
    await expect(env.sync(manifestInput('m/late.jsonl', 'jsonl')).result).rejects.toMatchObject({
      name: 'States.ItemReaderFailed',
      message: expect.stringContaining(`ItemReader could not read s3://${LISTS}/m/late.jsonl: line ${lines + 1} is not JSON`) as unknown,
    });
    expect(env.sourceReads()).toBe(0);
  });
});

describe('a manifest that lists a key twice', { timeout: 60_000 }, () => {
  /** Lines of distinct keys, enough to pass the 256 KiB start PlanSync reads in one request. */
  const filler = (n: number, line: (i: number) => string): string => Array.from({ length: n }, (_, i) => line(i)).join('');

  it.each([
    ['two JSONL lines of one key', 'm/dup.jsonl', 'jsonl', '{"key":"x/a.txt"}\n{"key":"x/b.txt"}\n\n{"key":"x/a.txt"}\n', 'x/a.txt', 'on lines 1 and 4'],
    ['one key with two versions', 'm/dup-versions.jsonl', 'jsonl', '{"key":"x/a.txt","versionId":"v1"}\n{"key":"x/a.txt","versionId":"v2"}\n', 'x/a.txt', 'on lines 1 and 2'],
    ['a JSONL key listed again past the first 256 KiB', 'm/dup-late.jsonl', 'jsonl', `{"key":"x/a.txt"}\n${filler(20_000, (i) => `{"key":"x/f-${i}.txt"}\n`)}{"Key":"x/a.txt"}\n`, 'x/a.txt', 'on lines 1 and 20002'],
    ['two CSV rows of one quoted key', 'm/dup.csv', 'csv', 'size,key\r\n3,"x/a,\nb.txt"\r\n4,x/c.txt\r\n5,"x/a,\nb.txt"\r\n', 'x/a,\nb.txt', 'on rows 2 and 4 (the header is row 1)'],
    ['a CSV key listed again past the first 256 KiB, CRLF rows', 'm/dup-late.csv', 'csv', `key\r\nx/z.txt\r\n${filler(30_000, (i) => `x/f-${i}.txt\r\n`)}x/z.txt\r\n`, 'x/z.txt', 'on rows 2 and 30003 (the header is row 1)'],
  ] as const)('%s: refused by PlanSync with Transfer.InvalidInput naming the key and both places, nothing listed or copied', async (_what, key, format, body, dup, where) => {
    const message = await refusedBeforeListing(key, format, body);
    expect(message).toContain(`source.manifest s3://${LISTS}/${key} (format ${format}) lists the key ${JSON.stringify(dup)} twice, ${where}`);
    expect(message).toContain('each key may be listed once');
  });

  it('a long list of distinct keys (read in more than one piece, CRLF rows) passes the check: every key is listed', async () => {
    const n = 12_000; // about 200 KiB of CSV past the start: the check reads it in more than one piece
    await put('m/distinct.csv', `key,size\r\n${filler(n, (i) => `x/d-${i}.txt,1\r\n`)}`);
    // A dry run decides from the listing alone (Box holds none of the names): no object needs to exist.
    const summary = await env.sync({ ...manifestInput('m/distinct.csv', 'csv'), options: { uploadsPerMinute: 100_000, objectsPerBatch: 1_000, dryRun: true } }).result;
    expect(summary).toMatchObject({ objects: n, failed: 0, dryRun: true });
  }, 120_000);
});

describe('a manifest of more keys than PlanSync checks (its cap set to 3 for this test)', { timeout: 60_000 }, () => {
  let capped: BulkEnv;
  beforeAll(async () => {
    capped = await startBulkEnv({ settings: { manifestMaxKeys: 3 } });
    await ensureBucket(capped.s3.client, LISTS);
  }, 120_000);
  afterAll(async () => {
    await capped?.close();
  });

  const run = async (key: string, format: ManifestFormat, body: string): Promise<unknown> => {
    await capped.s3.client.send(new PutObjectCommand({ Bucket: LISTS, Key: key, Body: body }));
    return capped.sync({ ...manifestInput(key, format), options: { uploadsPerMinute: 100_000, dryRun: true } }).result.then(
      (summary) => summary,
      (e: unknown) => e,
    );
  };

  it.each([
    ['JSONL', 'm/four.jsonl', 'jsonl', '{"key":"x/a.txt"}\n{"key":"x/b.txt"}\n\n{"key":"x/c.txt"}\n{"key":"x/d.txt"}\n'],
    ['CSV', 'm/four.csv', 'csv', 'key\nx/a.txt\nx/b.txt\nx/c.txt\nx/d.txt\n'],
  ] as const)('%s: four keys are refused with Transfer.InvalidInput saying to split it, before anything is listed or copied; three pass', async (_what, key, format, body) => {
    const before = listingsAndSourceReads(capped);
    const error = await run(key, format, body);
    expect(error).toMatchObject({ name: 'Transfer.InvalidInput' });
    expect(listingsAndSourceReads(capped)).toBe(before);
    expect((error as Error).message).toContain(
      `source.manifest s3://${LISTS}/${key} (format ${format}) lists more than 3 keys, more than a run checks for keys listed twice: split it into manifests of at most that many keys, one run each`,
    );
    expect(capped.box.listSessions()).toEqual([]);
    const three = body.replace(format === 'jsonl' ? '{"key":"x/d.txt"}\n' : 'x/d.txt\n', '');
    // A dry run decides from the listing alone: no object needs to exist.
    expect(await run(key.replace('four', 'three'), format, three)).toMatchObject({ objects: 3, failed: 0, dryRun: true });
  });
});

describe('a report prefix inside the synced prefix', { timeout: 60_000 }, () => {
  const prefixInput = (source: string, report: { bucket: string; prefix?: string }): SyncInput => ({
    source: { bucket: BUCKET, prefix: source },
    destination: { folderId: '0' },
    report,
  });

  it('is refused by PlanSync with Transfer.InvalidInput before anything is listed', async () => {
    const before = listingsAndSourceReads();
    await expect(env.sync(prefixInput('x/', { bucket: BUCKET, prefix: 'x/reports/' })).result).rejects.toMatchObject({
      name: 'Transfer.InvalidInput',
      message: expect.stringContaining(`report s3://${BUCKET}/x/reports/ lies inside the source s3://${BUCKET}/x/`) as unknown,
    });
    expect(listingsAndSourceReads()).toBe(before);
    expect(env.box.listSessions()).toEqual([]);
  });

  it('is told apart from a report beside the source, in another bucket, or beside a manifest', () => {
    const refused = [
      prefixInput('x/', { bucket: BUCKET, prefix: 'x/' }),
      prefixInput('', { bucket: BUCKET, prefix: 'reports/' }), // the whole bucket
      prefixInput('', { bucket: BUCKET }),
      prefixInput('x', { bucket: BUCKET, prefix: 'x-reports/' }), // "x" lists "x-reports/..." too
    ];
    for (const input of refused) expect(() => validateSyncInput(input), JSON.stringify(input.report)).toThrow(/lies inside the source/);
    const accepted = [
      prefixInput('x/', { bucket: BUCKET, prefix: 'reports/' }),
      prefixInput('x/', { bucket: BUCKET, prefix: 'x-reports/' }),
      prefixInput('x/', { bucket: BUCKET }), // results under <execution name>/, beside x/
      prefixInput('x/', { bucket: REPORT_BUCKET, prefix: 'x/' }),
      manifestInput('m/list.jsonl', 'jsonl'),
    ];
    for (const input of accepted) expect(validateSyncInput(input), JSON.stringify(input.report)).toBe(input);
  });
});
