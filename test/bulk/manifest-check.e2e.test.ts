// A bulk run's input refused before anything is listed, through the real bulk state machine (PlanSync over
// s3rver and the Box emulator): a manifest the ItemReader could not read or whose items name no key
// (Transfer.InvalidInput naming the manifest, its format and what is missing), a manifest S3 does not have,
// and a report prefix inside the synced prefix. A bad line past what PlanSync reads still fails the run at
// the local ItemReader, whose message names the manifest and the line.
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
function listingsAndSourceReads(): number {
  const listings = Object.entries(env.s3Calls).filter(([name]) => name.startsWith('ListObjects')).reduce((n, [, c]) => n + c, 0);
  return listings + env.sourceReads();
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
    await put(key, body);
    const before = listingsAndSourceReads();
    const error = await env.sync(manifestInput(key, format)).result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'Transfer.InvalidInput' });
    const message = (error as Error).message;
    expect(message).toContain(`source.manifest s3://${LISTS}/${key} (format ${format})`);
    expect(message).toContain(missing);
    expect(message).toContain('Expected: ');
    expect(listingsAndSourceReads()).toBe(before);
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
    const good = '{"key":"x/a.txt"}\n';
    const lines = Math.ceil((300 * 1024) / good.length);
    await put('m/late.jsonl', `${good.repeat(lines)}not json\n`);
    await expect(env.sync(manifestInput('m/late.jsonl', 'jsonl')).result).rejects.toMatchObject({
      name: 'States.ItemReaderFailed',
      message: expect.stringContaining(`ItemReader could not read s3://${LISTS}/m/late.jsonl: line ${lines + 1} is not JSON`) as unknown,
    });
    expect(env.sourceReads()).toBe(0);
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
