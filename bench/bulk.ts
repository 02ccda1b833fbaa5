// Bulk benchmark: many objects from s3rver into the Box emulator on a WAN-like shaped link, `s3-to-box sync`
// (the bulk state machine through the local runner, real handlers) against the official box-node-sdk
// uploading the same objects one by one (what a user would write: read the object, upload it, next).
//   node bench/bulk.ts [--small 1000] [--big 20] [--latency-ms 30] [--bandwidth 32MiB] [--quick]
// Prints a Markdown section for BENCHMARKS.md (the machine, then the rows). Not part of npm test.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { startBoxEmulator } from '../local/box-emulator/index.ts';
import { parseSize } from '../local/cli/options.ts';
import { startSync } from '../local/runner/bulk.ts';
import { ensureBucket, putGeneratedObject, startLocalS3 } from '../local/runner/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../src/box/index.ts';
import { silentLogger } from '../src/transfer/logger.ts';
import { sdkClient } from './sdk.ts';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    small: { type: 'string' },
    big: { type: 'string' },
    'latency-ms': { type: 'string' },
    bandwidth: { type: 'string' },
    quick: { type: 'boolean' },
    'skip-default-budget': { type: 'boolean' },
  },
});
const quick = values.quick === true;
const SMALL = Number(values.small ?? (quick ? 200 : 1000));
const BIG = Number(values.big ?? (quick ? 3 : 20));
const SMALL_SIZE = 100 * 1024;
const BIG_SIZE = 64 * MiB;
const latencyMs = Number(values['latency-ms'] ?? 30);
const bandwidth = values.bandwidth !== undefined ? parseSize(values.bandwidth) : 32 * MiB;
const BUCKET = 'bench-source';
const REPORTS = 'bench-reports';

const s3 = await startLocalS3({ buckets: [BUCKET, REPORTS] });
const box = await startBoxEmulator({ latencyMs, bandwidthBytesPerSecond: bandwidth });
const client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl });
await ensureBucket(s3.client, REPORTS);

async function putAll(prefix: string, count: number, size: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}/obj-${String(i).padStart(5, '0')}.bin`);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await putGeneratedObject(s3.client, { bucket: BUCKET, key, size });
    }
  }));
  return keys;
}

interface Row {
  label: string;
  objects: number;
  bytes: number;
  seconds: number;
}

/** The SDK, one object after the other: GetObject from S3, then uploadFile (small) or uploadBigFile (chunked). */
async function sdkOneByOne(keys: string[], size: number, folderName: string): Promise<Row> {
  const sdk = sdkClient({ apiUrl: box.url, uploadUrl: box.uploadUrl, token: box.token });
  const folder = await box.createFolder(folderName);
  const started = performance.now();
  for (const key of keys) {
    const body = (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body as Readable;
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (size < 20_000_000) await sdk.uploads.uploadFile({ attributes: { name, parent: { id: folder.id } }, file: body });
    else await sdk.chunkedUploads.uploadBigFile(body, name, size, folder.id);
  }
  return { label: 'box-node-sdk, one by one', objects: keys.length, bytes: keys.length * size, seconds: (performance.now() - started) / 1000 };
}

async function sync(prefix: string, count: number, size: number, folderName: string, options: { uploadsPerMinute: number; objectsInFlight: number }, label: string): Promise<Row> {
  const folder = await box.createFolder(folderName);
  const started = performance.now();
  const run = startSync(
    { source: { bucket: BUCKET, prefix: `${prefix}/` }, destination: { folderId: folder.id }, report: { bucket: REPORTS, prefix: `${folderName}/` }, options },
    { deps: { s3: s3.client, box: async () => client, logger: silentLogger } },
  );
  const summary = await run.result;
  const seconds = (performance.now() - started) / 1000;
  if (summary.copied !== count || summary.failed !== 0) throw new Error(`${label}: ${JSON.stringify(summary)}`);
  return { label, objects: count, bytes: count * size, seconds };
}

const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' / ');
const rows: Array<{ set: string; row: Row; load: string }> = [];
const note = (set: string, row: Row): void => {
  rows.push({ set, row, load: load() });
  process.stderr.write(`${set}: ${row.label}: ${row.objects} objects in ${row.seconds.toFixed(1)} s\n`);
};

try {
  process.stderr.write(`putting ${SMALL} x 100 KiB and ${BIG} x 64 MiB into s3rver...\n`);
  const small = await putAll('small', SMALL, SMALL_SIZE);
  const big = await putAll('big', BIG, BIG_SIZE);
  note('small', await sdkOneByOne(small, SMALL_SIZE, 'sdk-small'));
  note('small', await sync('small', SMALL, SMALL_SIZE, 'sync-small-raised', { uploadsPerMinute: 100_000, objectsInFlight: 64 }, 'sync, budget raised (100,000/min), 64 in flight'));
  if (values['skip-default-budget'] !== true) {
    note('small', await sync('small', SMALL, SMALL_SIZE, 'sync-small-default', { uploadsPerMinute: 240, objectsInFlight: 16 }, 'sync, default budget (240/min), 16 in flight'));
  }
  note('big', await sdkOneByOne(big, BIG_SIZE, 'sdk-big'));
  note('big', await sync('big', BIG, BIG_SIZE, 'sync-big', { uploadsPerMinute: 240, objectsInFlight: 16 }, 'sync, default budget (240/min), 16 in flight'));
} finally {
  await client.close();
  await box.close();
  await s3.close();
}

const out: string[] = [];
out.push(`### Bulk runs: ${SMALL} objects of 100 KiB and ${BIG} of 64 MiB, WAN-like link (+${latencyMs} ms per Box request, ${(bandwidth / MiB).toFixed(0)} MiB/s per connection)`);
out.push('');
out.push(`\`node bench/bulk.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}\` on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z. ` +
  `The load average is shown per row (above ${os.availableParallelism()}, other jobs competed for the cores): compare the ratios within this run, not the absolute rates across runs. ` +
  'Both sides read the objects from the same s3rver and write into the same emulator; the sync rows run the bulk state machine through the local runner (real handlers).');
out.push('');
out.push('| objects | uploader | seconds | objects/s | MiB/s | vs SDK | load avg (1/5/15 min) |');
out.push('| --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const set of ['small', 'big']) {
  const base = rows.find((r) => r.set === set && r.row.label.startsWith('box-node-sdk'))?.row;
  for (const { row, load: l } of rows.filter((r) => r.set === set)) {
    const rate = row.objects / row.seconds;
    const ratio = base ? `${(rate / (base.objects / base.seconds)).toFixed(1)}x` : '';
    out.push(`| ${row.objects} x ${set === 'small' ? '100 KiB' : '64 MiB'} | ${row.label} | ${row.seconds.toFixed(1)} | ${rate.toFixed(1)} | ${(row.bytes / MiB / row.seconds).toFixed(1)} | ${ratio} | ${l} |`);
  }
}
process.stdout.write(`${out.join('\n')}\n`);
