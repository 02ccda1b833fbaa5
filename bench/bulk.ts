// Bulk benchmark: many objects from s3rver into the Box emulator on a WAN-like shaped link, `s3-to-box sync`
// (the bulk state machine through the local runner, real handlers) against the official box-node-sdk
// uploading the same objects one by one (what a user would write: read the object, upload it, next).
//   node bench/bulk.ts [--small 1000] [--big 20] [--latency-ms 30] [--bandwidth 32MiB] [--quick]
//                      [--skip-default-budget] [--objects-per-batch N] [--cpu-prof DIR]
// Prints a Markdown section for BENCHMARKS.md (the machine, then the rows). Not part of npm test.
// Then PlanSync at its cap (bench/manifest-check.ts): the shipped bundle checks a manifest of as many keys
// as it accepts for keys listed twice, measured against the memory and timeout serverless.yml gives it.
//
// S3 and Box are other machines in real life: here s3rver and the emulator run in this process, and each
// uploader in a child process of its own (bench/bulk-child.ts, with the runner's V8 flags, as the CLI
// runs), so the uploader's CPU time is measured apart from the servers'. `--cpu-prof DIR` writes a V8 CPU
// profile of each sync child into DIR (`node bench/profile.ts FILE` breaks one down).
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBoxEmulator } from '../local/box-emulator/index.ts';
import { parseSize } from '../local/cli/options.ts';
import { LOCAL_S3_CREDENTIALS } from '../local/runner/local-s3-client.ts';
import { putGeneratedObject, startLocalS3 } from '../local/runner/index.ts';
import { DEFAULT_SETTINGS } from '../src/transfer/settings.ts';
import type { BulkJob, BulkJobResult, BulkTarget } from './bulk-child.ts';
import { measureManifestCheck, renderManifestCheck } from './manifest-check.ts';
import type { ManifestCheckRow } from './manifest-check.ts';
import { runnerNodeFlags } from './jobs.ts';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    small: { type: 'string' },
    big: { type: 'string' },
    'latency-ms': { type: 'string' },
    bandwidth: { type: 'string' },
    quick: { type: 'boolean' },
    'skip-default-budget': { type: 'boolean' },
    'objects-per-batch': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const quick = values.quick === true;
const SMALL = Number(values.small ?? (quick ? 200 : 1000));
const BIG = Number(values.big ?? (quick ? 3 : 20));
const SMALL_SIZE = 100 * 1024;
const BIG_SIZE = 64 * MiB;
const latencyMs = Number(values['latency-ms'] ?? 30);
const bandwidth = values.bandwidth !== undefined ? parseSize(values.bandwidth) : 32 * MiB;
const objectsPerBatch = values['objects-per-batch'] !== undefined ? Number(values['objects-per-batch']) : undefined;
const profileDir = values['cpu-prof'] !== undefined ? path.resolve(values['cpu-prof']) : undefined;
const BUCKET = 'bench-source';
const REPORTS = 'bench-reports';

const s3 = await startLocalS3({ buckets: [BUCKET, REPORTS] });
const box = await startBoxEmulator({ latencyMs, bandwidthBytesPerSecond: bandwidth });
const target: BulkTarget = { s3Endpoint: s3.endpoint, apiUrl: box.url, uploadUrl: box.uploadUrl, token: box.token, bucket: BUCKET, reportBucket: REPORTS };

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
  /** The uploader's process. */
  cpuSeconds: number;
  /** This process (s3rver and the emulator) during the run. */
  serverCpuSeconds: number;
}

/** Runs one job in bench/bulk-child.ts; the servers here keep answering meanwhile. */
async function inChild(job: BulkJob): Promise<{ result: BulkJobResult; serverCpuSeconds: number }> {
  const profile = job.kind === 'sync' && profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const cpuBefore = process.cpuUsage();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', ...runnerNodeFlags(ROOT), ...profile, path.join(ROOT, 'bench/bulk-child.ts'), JSON.stringify(job)],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey } },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench/bulk-child.ts (${job.kind}) exited with ${code}`))));
  });
  const cpu = process.cpuUsage(cpuBefore);
  const last = stdout.trim().split('\n').pop() ?? '';
  return { result: JSON.parse(last) as BulkJobResult, serverCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function sdkOneByOne(keys: string[], size: number, folderName: string): Promise<Row> {
  const folder = await box.createFolder(folderName);
  const { result, serverCpuSeconds } = await inChild({ kind: 'sdk', target, keys, size, folderId: folder.id });
  return { label: 'box-node-sdk, one by one', objects: keys.length, bytes: keys.length * size, seconds: result.seconds, cpuSeconds: result.cpuSeconds, serverCpuSeconds };
}

async function sync(prefix: string, count: number, size: number, folderName: string, options: { uploadsPerMinute: number; objectsInFlight: number }, label: string): Promise<Row> {
  const folder = await box.createFolder(folderName);
  const { result, serverCpuSeconds } = await inChild({
    kind: 'sync',
    target,
    prefix: `${prefix}/`,
    folderId: folder.id,
    reportPrefix: `${folderName}/`,
    options: { ...options, ...(objectsPerBatch !== undefined ? { objectsPerBatch } : {}) },
  });
  if (result.copied !== count || result.failed !== 0) throw new Error(`${label}: ${JSON.stringify(result)}`);
  return { label, objects: count, bytes: count * size, seconds: result.seconds, cpuSeconds: result.cpuSeconds, serverCpuSeconds };
}

const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' / ');
const rows: Array<{ set: string; row: Row; load: string }> = [];
const checks: ManifestCheckRow[] = [];
const note = (set: string, row: Row): void => {
  rows.push({ set, row, load: load() });
  process.stderr.write(`${set}: ${row.label}: ${row.objects} objects in ${row.seconds.toFixed(1)} s, ${row.cpuSeconds.toFixed(1)} CPU-s (servers ${row.serverCpuSeconds.toFixed(1)})\n`);
};

try {
  process.stderr.write(`putting ${SMALL} x 100 KiB and ${BIG} x 64 MiB into s3rver...\n`);
  const small = await putAll('small', SMALL, SMALL_SIZE);
  const big = await putAll('big', BIG, BIG_SIZE);
  if (SMALL > 0) {
    note('small', await sdkOneByOne(small, SMALL_SIZE, 'sdk-small'));
    note('small', await sync('small', SMALL, SMALL_SIZE, 'sync-small-raised', { uploadsPerMinute: 100_000, objectsInFlight: 64 }, 'sync, budget raised (100,000/min), 64 in flight'));
    if (values['skip-default-budget'] !== true) {
      note('small', await sync('small', SMALL, SMALL_SIZE, 'sync-small-default', { uploadsPerMinute: 240, objectsInFlight: 16 }, 'sync, default budget (240/min), 16 in flight'));
    }
  }
  if (BIG > 0) {
    note('big', await sdkOneByOne(big, BIG_SIZE, 'sdk-big'));
    note('big', await sync('big', BIG, BIG_SIZE, 'sync-big', { uploadsPerMinute: 240, objectsInFlight: 16 }, 'sync, default budget (240/min), 16 in flight'));
  }
  const bundleEnv = {
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    BOX_DEVELOPER_TOKEN: box.token,
    BOX_API_URL: box.url,
    BOX_UPLOAD_URL: box.uploadUrl,
  };
  for (const format of ['jsonl', 'csv'] as const) {
    const check = await measureManifestCheck({ s3: s3.client, bucket: BUCKET, reportBucket: REPORTS, env: bundleEnv }, DEFAULT_SETTINGS.manifestMaxKeys, format);
    checks.push(check);
    process.stderr.write(`PlanSync at its cap (${format}): ${check.keys} keys in ${check.seconds.toFixed(1)} s, ${check.cpuSeconds.toFixed(2)} CPU-s, peak RSS ${(check.peakRssBytes / MiB).toFixed(0)} MiB\n`);
  }
} finally {
  await box.close();
  await s3.close();
}

const out: string[] = [];
out.push(`### Bulk runs: ${SMALL} objects of 100 KiB and ${BIG} of 64 MiB, WAN-like link (+${latencyMs} ms per Box request, ${(bandwidth / MiB).toFixed(0)} MiB/s per connection)`);
out.push('');
out.push(`\`node bench/bulk.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}\` on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z. ` +
  `The load average is shown per row (above ${os.availableParallelism()}, other jobs competed for the cores): compare the ratios within this run, not the absolute rates across runs. ` +
  'Both sides read the objects from the same s3rver and write into the same emulator, which run in the bench\'s process; each uploader runs in a process of its own (bench/bulk-child.ts), ' +
  'timed from its first request to its last answer (modules loaded and clients built before). The sync rows run the bulk state machine through the local runner (real handlers), built as `s3-to-box sync` builds it. ' +
  '"CPU-s" is the uploader\'s process (user + system) during the run; "servers CPU-s" is s3rver\'s and the emulator\'s.');
out.push('');
out.push('| objects | uploader | seconds | objects/s | MiB/s | vs SDK | CPU-s | servers CPU-s | load avg (1/5/15 min) |');
out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const set of ['small', 'big']) {
  const base = rows.find((r) => r.set === set && r.row.label.startsWith('box-node-sdk'))?.row;
  for (const { row, load: l } of rows.filter((r) => r.set === set)) {
    const rate = row.objects / row.seconds;
    const ratio = base ? `${(rate / (base.objects / base.seconds)).toFixed(1)}x` : '';
    out.push(`| ${row.objects} x ${set === 'small' ? '100 KiB' : '64 MiB'} | ${row.label} | ${row.seconds.toFixed(1)} | ${rate.toFixed(1)} | ${(row.bytes / MiB / row.seconds).toFixed(1)} | ${ratio} | ${row.cpuSeconds.toFixed(1)} | ${row.serverCpuSeconds.toFixed(1)} | ${l} |`);
  }
}
if (checks.length > 0) out.push('', renderManifestCheck(checks));
process.stdout.write(`${out.join('\n')}\n`);
