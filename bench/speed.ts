// `npm run bench -- --only speed`: the speed targets of the whole pipeline, side by side in one run.
//   - end to end on a shaped link (the emulator capped per connection, latency per request, Box-like
//     12 MiB parts): the state machine run locally against box-node-sdk's uploadBigFile fed by the S3
//     stream, at two sizes, commit processing (one 202) included for both;
//   - a concurrency sweep of the pipeline on that link;
//   - CPU per GiB of the runner process, with its CPU profile broken down, this checkout against an
//     earlier one (--before DIR, a checkout with node_modules) in the same run;
//   - the HashObject path against a raw read of the same object; a row per CPU model (kept in
//     bench/hash-by-cpu.json across machines);
//   - time to the first Box request of `node bin/s3-to-box.js transfer` (wall and CPU), caches warm and cold;
//   - Lambda bundles: size and import time per variant;
//   - X-Ray tracing's cost per invocation and the log bytes per invocation (bench/tracing.ts);
//   - memory: one UploadBatch invocation per part size and parts in flight, and a big pipeline;
//   - the AWS cost model from the measured counts (CloudWatch Logs and X-Ray from the tracing rows).
// Every upload is checked: the SHA-1 Box reports must be the source's. Writes its section of BENCHMARKS.md
// between markers, leaving the rest of the file as it is.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultPartSize } from '../local/box-emulator/index.ts';
import type { BoxEmulator, BoxEmulatorOptions } from '../local/box-emulator/index.ts';
import { putGeneratedObject, startLocalS3 } from '../local/runner/index.ts';
import type { LocalS3 } from '../local/runner/index.ts';
import { parsePositiveSize } from '../local/cli/options.ts';
import type { PrepareResult } from '../src/transfer/contract.ts';
import { partsReadAheadOf, planBatches } from '../src/transfer/plan.ts';
import type { TransferSettings } from '../src/transfer/settings.ts';
import { buildShipped, lambdaProcessOf, lambdaSizeByState, measureBundles, VARIANTS } from './bundles.ts';
import { machineCpuTimes, otherCores } from './load.ts';
import type { Architecture, BundleRow, FunctionSize } from './bundles.ts';
import { childEntryOf, COMMIT_202, IntegrityFailure, runMeasured } from './jobs.ts';
import type { Job, JobResult, Measured, PipelineCounts } from './jobs.ts';
import { breakdownFile } from './profile.ts';
import { cpuFit, cpuTarget, CPU_PER_GIB_TARGET, fitText, perGiB as cpuPerGiBOf, renderCpu, startupCpuS } from './cpu.ts';
import { benchCommand, endMarker, startMarker, writeSection } from './sections.ts';
import type { ProfileBreakdown } from './profile.ts';
import { GiB, MB_PER_VCPU, MiB, fixed, markdownTable as table, median, mib, mibPerSecond, range, sizeLabel } from './stats.ts';
import { emulatorTarget, withEmulator as withEmulatorIn } from './emulator.ts';
import { startConnectionShaper } from './hash-shaper.ts';
import { partRounds, renderSweep, SWEEP_CONCURRENCIES, sweepRuns } from './sweep.ts';
import { DEFAULT_SETTINGS } from '../src/transfer/settings.ts';
import { lambdaCommand } from '../local/lambda/runtime.ts';
import type { LambdaProcess } from '../local/lambda/runtime.ts';
import { measureTracing, observedOf, PLATFORM_LOG_BYTES, renderTracing } from './tracing.ts';
import { earlierLine, notRecorded, parseRecord, parseSections, recordRun, SECTIONS, withEarlier } from './speed-record.ts';
import type { RunInfo, RunOptions, Section } from './speed-record.ts';
import type { Observed, ObservedInvocation, TracingResults } from './tracing.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const START = startMarker('speed', 'written by npm run bench -- --only speed');
const END = endMarker('speed');
const HASH_BY_CPU = path.join(ROOT, 'bench/hash-by-cpu.json');
/** The last measurement written to BENCHMARKS.md of each part (bench/speed-record.ts). */
const RECORD = path.join(ROOT, 'bench/speed-results.json');
const BENCHMARKS = path.join(ROOT, 'BENCHMARKS.md');

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export interface Options {
  quick: boolean;
  small: number;
  big: number;
  huge: number;
  before: string | undefined;
  /** Where the section is written (undefined: printed only). */
  out: string | undefined;
  /** --out was given: a partial run writes there even when the record lacks the parts it does not measure. */
  outGiven: boolean;
  latencyMs: number;
  bandwidth: number;
  partSize: number;
  /** Which measurements to make (all by default): e2e, sweep, cpu, hash, cli, bundles, tracing, memory, huge. */
  sections: Set<Section>;
  /** How this run was started, for the report (an earlier checkout's path shown as a placeholder). */
  command: string;
  cliRuns: number;
  bundleRuns: number;
  tracingRounds: number;
  tracingInvocations: number;
}

/** The speed bench's options (the other benches' pass through); an unknown `--sections` name throws before anything runs. */
export function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      before: { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      small: { type: 'string' },
      big: { type: 'string' },
      huge: { type: 'string' },
      sections: { type: 'string' },
    },
    strict: false,
  });
  const quick = values.quick === true;
  const size = (v: unknown, d: number): number => (typeof v === 'string' ? parsePositiveSize(v) : d);
  const sections = parseSections(typeof values.sections === 'string' ? values.sections : undefined);
  return {
    quick,
    small: size(values.small, quick ? 64 * MiB : 256 * MiB),
    big: size(values.big, quick ? 128 * MiB : GiB),
    huge: size(values.huge, quick ? 256 * MiB : 4 * GiB),
    before: typeof values.before === 'string' ? path.resolve(values.before) : undefined,
    out: values['no-write'] === true || (quick && values.out === undefined) ? undefined : path.resolve(ROOT, typeof values.out === 'string' ? values.out : 'BENCHMARKS.md'),
    outGiven: typeof values.out === 'string' && values['no-write'] !== true,
    latencyMs: 30,
    bandwidth: 25 * MiB,
    partSize: 12 * MiB,
    sections,
    command: benchCommand(argv),
    cliRuns: quick ? 2 : 5,
    bundleRuns: quick ? 2 : 5,
    tracingRounds: quick ? 1 : 3,
    tracingInvocations: quick ? 3 : 10,
  };
}

// --- environment -----------------------------------------------------------------------------------

interface Env {
  s3: LocalS3;
  bucket: string;
  objects: Map<number, { key: string; sha1: string }>;
  dataRoot: string;
}

function withEmulator<T>(env: Env, options: BoxEmulatorOptions, use: (box: BoxEmulator) => Promise<T>, root = env.dataRoot): Promise<T> {
  return withEmulatorIn(root, options, use);
}

/** The variables a shipped Lambda bundle reads to reach the bench's local S3 and this emulator. */
function lambdaEnvOf(env: Env, box: BoxEmulator): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    S3_ENDPOINT: env.s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    BOX_DEVELOPER_TOKEN: box.token,
    BOX_API_URL: box.url,
    BOX_UPLOAD_URL: box.uploadUrl,
  };
}

async function object(env: Env, size: number): Promise<{ key: string; sha1: string }> {
  let o = env.objects.get(size);
  if (o === undefined) {
    const key = `speed/${size}.bin`;
    const put = await putGeneratedObject(env.s3.client, { bucket: env.bucket, key, size });
    o = { key, sha1: put.sha1 };
    env.objects.set(size, o);
  }
  return o;
}

/** Deletes an object from s3rver (its data is in memory, /dev/shm). */
async function dropObject(env: Env, size: number): Promise<void> {
  const o = env.objects.get(size);
  if (o === undefined) return;
  const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  await env.s3.client.send(new DeleteObjectCommand({ Bucket: env.bucket, Key: o.key }));
  env.objects.delete(size);
}

function checkSha1(what: string, r: JobResult, sha1: string): void {
  if (r.sha1 !== sha1) throw new IntegrityFailure(`${what}: Box reported SHA-1 ${r.sha1}, the source's is ${sha1}`);
}

function shaped(o: Options): BoxEmulatorOptions {
  return { latencyMs: o.latencyMs, bandwidthBytesPerSecond: o.bandwidth, partSize: o.partSize, commitProcessing: COMMIT_202 };
}

/** No waiting for a quiet machine: with other users on it that never comes. Load is recorded per run instead. */
const NOW = { quietWaitMs: 0 };

// --- results --------------------------------------------------------------------------------------

export interface E2eRun {
  who: 'sdk' | 'pipeline';
  size: number;
  rep: number;
  ms: number;
  cpuMs: number;
  serverCpuMs: number;
  otherCores: number;
  rssBytes: number;
  marks: Record<string, number>;
  counts?: PipelineCounts | undefined;
  /** Parts of the chunked upload (the pipeline's runs). */
  parts?: number | undefined;
  concurrency?: number;
  /** Ms the servers' event loop (the bench process's) was busy during the run. */
  serverLoopMs?: number;
  /** Sweep runs: the most part PUTs the emulator served at once (earlier records: unset). */
  maxPartsInFlight?: number;
}
export interface CpuRun {
  checkout: 'this' | 'before';
  size: number;
  ms: number;
  transferCpuMs: number;
  processCpuMs: number;
  otherCores: number;
  profile: ProfileBreakdown;
  /** The process's CPU ms by thread kind (bench/child.ts; runs of earlier records and checkouts: unset). */
  threadCpuMs?: Record<string, number>;
  /**
   * The same transfer in a process without the profiler, as a user runs it: what the target is judged on
   * (the profiler costs a thread of its own and slows start-up). Runs of earlier records: unset.
   */
  unprofiled?: { ms: number; processCpuMs: number; otherCores: number };
}
/** One raw read and one HashObject path of the same object, taken one after the other (ABBA order across pairs). */
export interface HashPair {
  readMiBs: number;
  hashMiBs: number;
  /** The most ranged GETs the HashObject path had in flight (it opens them as its thread waits on the network). */
  hashRanges: number;
}
export interface HashRow {
  cpu: string;
  date: string;
  size: number;
  /** The median of the pairs' raw reads (rows of earlier runs: their one sample). */
  readOnlyMiBs: number;
  /** The median of the pairs' HashObject paths: hashObjectMiBs / readOnlyMiBs is the ratio of the medians. */
  hashObjectMiBs: number;
  /** The raw/hash pairs of this row (rows of earlier runs: unset, one raw sample taken first). */
  pairs?: HashPair[];
  /**
   * Like for like (review S16), reported and not judged: the raw read over as many ranged streams as the
   * HashObject path opened at most (rangedStreams), read and dropped, once per row after the pairs.
   */
  rangedReadMiBs?: number;
  rangedStreams?: number;
  nodeStreamMiBs: number;
  resumableMiBs: number;
  engine: string;
  otherCores: number;
  /** CPU seconds of the child per GiB: reading alone, and the HashObject path (rows of earlier runs: unset). */
  readOnlyCpuPerGiB?: number;
  hashObjectCpuPerGiB?: number;
  /**
   * How the child was started: 'lambda' as the HashObject Lambda starts (the runtime's heap options for its
   * memory, through its exec wrapper: the target is judged on these), 'lambda-no-wrapper' the same without the
   * wrapper. Rows of earlier runs: unset, with `runnerFlags` when they ran with the local runner's V8 flags.
   */
  process?: 'lambda' | 'lambda-no-wrapper';
  runnerFlags?: boolean;
  /** The function's memory (serverless.yml; rows of earlier runs: unset). */
  memoryMb?: number;
  /** The CPUs the child was pinned to (`taskset -c`): one for a function of one vCPU (rows of earlier runs: unset, not pinned). */
  cpuList?: string;
  /** The same object through a per-connection bandwidth cap in front of S3 (bench/hash-shaper.ts), on one row of a run. */
  shaped?: ShapedHash;
}

/** Reads of the hash's object through a per-connection bandwidth cap: a stand-in for S3's per-request bandwidth in AWS. */
export interface ShapedHash {
  /** The cap on each connection, bytes per second. */
  bytesPerSecond: number;
  /** The hash's defaults: ranged GETs in flight at once, and bytes per range. */
  rangesInFlight: number;
  rangeBytes: number;
  /** One GetObject stream, read and dropped. */
  oneStreamMiBs: number;
  /** The hash's ranged GETs, k at a time, read and dropped. */
  parallelMiBs: number;
  /** The HashObject path (hashSlice with the Lambda defaults). */
  hashObjectMiBs: number;
  /** The most ranged GETs it had in flight (adaptive, at most rangesInFlight; earlier runs: unset, always k). */
  hashRanges?: number;
}

function hashProcessLabel(h: HashRow): string {
  const how =
    (h.memoryMb === undefined ? '' : `, ${h.memoryMb.toLocaleString('en-US')} MB`) +
    (h.cpuList === undefined ? (h.memoryMb === undefined ? '' : ', not pinned') : `, pinned to CPU ${h.cpuList}`);
  if (h.process === 'lambda') return `Lambda (exec wrapper)${how}`;
  if (h.process === 'lambda-no-wrapper') return `Lambda without the wrapper${how}`;
  return h.runnerFlags === true ? 'runner flags (earlier run)' : 'no V8 flags (earlier run)';
}
export interface CliRun {
  checkout: 'this' | 'before';
  /** warm: the caches a start keeps were filled by an earlier start; cold: empty ones (a user's first start). */
  cache: 'warm' | 'cold';
  firstRequestMs: number;
  firstRequestCpuMs: number;
  totalMs: number;
}
export interface BatchRun {
  partSize: number;
  partsInFlight: number;
  parts: number;
  rssBytes: number;
  idleRssBytes: number;
  boundBytes: number;
  arrayBuffersBytes: number;
  otherCores: number;
  /** The most part PUTs the emulator served at once during the invocation: the parts really in flight. */
  maxPartsInFlight: number;
}
/** `s3-to-box demo --size SIZE --json` in a child process: s3rver, the Box emulator and the runner, all in that one process. */
export interface DemoRun {
  size: number;
  /** The whole command: start, the object generated into s3rver, the transfer, the download and its SHA-1. */
  ms: number;
  /** Peak RSS of the demo's process (getrusage, after its re-exec with the runner's V8 flags: the same process). */
  rssBytes: number;
  cpuMs: number;
  otherCores: number;
}
export interface SpeedResults {
  options: Options;
  machine: { cpu: string; cores: number; memoryBytes: number; node: string; loadStart: number[]; loadEnd: number[]; date: string };
  e2e: E2eRun[];
  sweep: E2eRun[];
  cpu: CpuRun[];
  hash: HashRow[];
  cli: CliRun[];
  bundles: BundleRow[];
  tracing: TracingResults | undefined;
  /** Memory and architecture of each function (serverless.yml), by Task state. */
  lambdas: Record<string, FunctionSize>;
  batches: BatchRun[];
  /** The runner process alone moving the big object (the servers in the bench's process). */
  huge: E2eRun | undefined;
  /** `s3-to-box demo` at the big size: the whole local pipeline as a user runs it, one process. */
  demo?: DemoRun | undefined;
  seconds: number;
  /** The parts this run did not measure, shown from the record (bench/speed-results.json): the run each comes from. */
  earlier?: Partial<Record<Section, RunInfo>>;
}

// --- measurements ---------------------------------------------------------------------------------

function e2eRun(who: E2eRun['who'], size: number, rep: number, m: Measured, concurrency?: number): E2eRun {
  return {
    who,
    size,
    rep,
    ms: m.result.ms,
    cpuMs: m.result.cpuMs ?? Number.NaN,
    serverCpuMs: m.serverCpuMs,
    otherCores: m.otherCores,
    rssBytes: m.result.memory.maxRssBytes,
    marks: m.result.marks ?? {},
    counts: m.result.counts,
    parts: m.result.parts,
    serverLoopMs: m.serverLoopMs,
    ...(concurrency !== undefined ? { concurrency } : {}),
  };
}

function logRun(label: string, r: E2eRun): void {
  log(
    `  [${label}] ${sizeLabel(r.size)} ${fixed(mibPerSecond(r.size, r.ms))} MiB/s, ${fixed(r.ms / 1000, 2)} s; CPU s runner ${fixed(r.cpuMs / 1000, 2)} servers ${fixed(r.serverCpuMs / 1000, 2)}; ` +
      `other load ${fixed(r.otherCores, 2)} cores; peak RSS ${mib(r.rssBytes)}; SHA-1 checked`,
  );
}

async function pipelineJob(env: Env, box: BoxEmulator, size: number, concurrency: number, name: string): Promise<Job> {
  const o = await object(env, size);
  return { kind: 'pipeline', target: emulatorTarget(box), s3Endpoint: env.s3.endpoint, bucket: env.bucket, key: o.key, name, concurrency };
}

async function endToEnd(env: Env, o: Options): Promise<E2eRun[]> {
  const runs: E2eRun[] = [];
  // Three runs at the big size (the target's): its verdict is the median, so one draw near 5x does not decide it.
  const plan: [number, number][] = [
    [o.small, o.quick ? 1 : 2],
    [o.big, o.quick ? 1 : 3],
  ];
  log(`\nend to end on the shaped link (${mib(o.bandwidth)}/s per connection, +${o.latencyMs} ms per request, ${mib(o.partSize)} parts, one commit 202)`);
  for (const [size, reps] of plan) {
    const { key, sha1 } = await object(env, size);
    for (let rep = 1; rep <= reps; rep++) {
      // Interleaved, the order swapped every rep: a slow stretch of the machine falls on both uploaders.
      const order = rep % 2 === 1 ? (['sdk', 'pipeline'] as const) : (['pipeline', 'sdk'] as const);
      for (const who of order) {
        const m = await withEmulator(env, shaped(o), async (box) => {
          const name = `e2e-${who}-${size}-${rep}.bin`;
          const job: Job =
            who === 'sdk'
              ? { kind: 'sdk-s3', target: emulatorTarget(box), s3Endpoint: env.s3.endpoint, bucket: env.bucket, key, name }
              : await pipelineJob(env, box, size, 8, name);
          const measured = await runMeasured(job, NOW);
          checkSha1(`${who} ${sizeLabel(size)}`, measured.result, sha1);
          return measured;
        });
        const r = e2eRun(who, size, rep, m, who === 'pipeline' ? 8 : 1);
        logRun(who === 'sdk' ? 'box-node-sdk uploadBigFile <- S3 stream' : 'state machine, concurrency 8', r);
        runs.push(r);
      }
    }
  }
  return runs;
}

async function sweep(env: Env, o: Options): Promise<E2eRun[]> {
  // The big object: at the small one the parts are too few for 8-32 in flight to show the parts phase stop.
  const size = o.big;
  const shape = { bandwidth: o.bandwidth, latencyMs: o.latencyMs, partSize: o.partSize };
  const reps = SWEEP_CONCURRENCIES.map((c) => [c, sweepRuns(size, c, shape, o.quick)] as const);
  log(`\nconcurrency sweep of the pipeline on the shaped link, ${sizeLabel(size)}, runs per concurrency ${reps.map(([c, n]) => `${c}: ${n}`).join(', ')}`);
  const started = performance.now();
  const { sha1 } = await object(env, size);
  const runs: E2eRun[] = [];
  // Repeats interleaved: a slow stretch of the machine falls on several concurrencies, not all runs of one.
  for (let rep = 1; rep <= Math.max(...reps.map(([, n]) => n)); rep++) {
    for (const [c, n] of reps) {
      if (rep > n) continue;
      let inFlight = 0;
      const m = await withEmulator(env, shaped(o), async (box) => {
        const measured = await runMeasured(await pipelineJob(env, box, size, c, `sweep-${c}-${rep}.bin`), NOW);
        checkSha1(`sweep ${c}`, measured.result, sha1);
        inFlight = box.stats().maxPartsInFlight;
        return measured;
      });
      const r: E2eRun = { ...e2eRun('pipeline', size, rep, m, c), maxPartsInFlight: inFlight };
      logRun(`concurrency ${c}, run ${rep} of ${n}, at most ${inFlight} part PUTs at once`, r);
      runs.push(r);
    }
  }
  log(`  sweep: ${runs.length} runs in ${fixed((performance.now() - started) / 60_000, 1)} minutes`);
  return runs;
}

async function cpuPerGiB(env: Env, o: Options): Promise<CpuRun[]> {
  const runs: CpuRun[] = [];
  // Two sizes: a transfer has a fixed CPU cost besides its cost per byte (bench/cpu.ts); the smaller is the
  // size of the issue's own figure.
  const sizes = [...new Set([o.small, o.big])].sort((a, b) => a - b);
  const checkouts: [CpuRun['checkout'], string][] = [['this', ROOT]];
  if (o.before !== undefined) checkouts.unshift(['before', o.before]);
  log(`\nCPU per GiB: the pipeline on loopback, ${sizes.map(sizeLabel).join(' and ')}, each run as a user runs it and again under --cpu-prof${o.before ? `, this checkout and ${o.before}` : ''}`);
  // One untimed run per checkout first: the measured ones find Node's compile cache (and a checkout's own
  // caches) filled, as every start after a user's first does, whichever parts of the bench ran before.
  const { sha1: smallSha1 } = await object(env, sizes[0] as number);
  for (const [checkout, dir] of checkouts) {
    const m = await withEmulator(env, { commitProcessing: COMMIT_202 }, async (box) => runMeasured(await pipelineJob(env, box, sizes[0] as number, 8, `cpu-warm-${checkout}.bin`), { ...NOW, child: childEntryOf(dir) }));
    checkSha1(`cpu warm-up ${checkout}`, m.result, smallSha1);
  }
  for (const size of sizes) {
    const { sha1 } = await object(env, size);
    for (const [checkout, dir] of checkouts) {
      // As a user runs it (judged), then under the profiler (the breakdown).
      const plain = await withEmulator(env, { commitProcessing: COMMIT_202 }, async (box) => {
        const measured = await runMeasured(await pipelineJob(env, box, size, 8, `cpu-plain-${checkout}-${size}.bin`), { ...NOW, child: childEntryOf(dir) });
        checkSha1(`cpu ${checkout} without the profiler`, measured.result, sha1);
        return measured;
      });
      const profDir = await mkdtemp(path.join(env.dataRoot, 'prof-'));
      const m = await withEmulator(env, { commitProcessing: COMMIT_202 }, async (box) => {
        const measured = await runMeasured(await pipelineJob(env, box, size, 8, `cpu-${checkout}-${size}.bin`), {
          ...NOW,
          child: childEntryOf(dir),
          nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
        });
        checkSha1(`cpu ${checkout}`, measured.result, sha1);
        return measured;
      });
      const file = execFileSync('ls', [profDir], { encoding: 'utf8' }).trim().split('\n')[0] as string;
      const profile = await breakdownFile(path.join(profDir, file));
      // S3_TO_BOX_KEEP_PROFILES=DIR keeps each raw profile (cpu-<checkout>-<bytes>.cpuprofile) for a closer look.
      if (process.env.S3_TO_BOX_KEEP_PROFILES) execFileSync('cp', [path.join(profDir, file), path.join(process.env.S3_TO_BOX_KEEP_PROFILES, `cpu-${checkout}-${size}.cpuprofile`)]);
      await rm(profDir, { recursive: true, force: true });
      const r: CpuRun = { checkout, size, ms: m.result.ms, transferCpuMs: m.result.cpuMs ?? Number.NaN, processCpuMs: m.result.processCpuMs, otherCores: m.otherCores, profile, ...(m.result.threadCpuMs === undefined ? {} : { threadCpuMs: m.result.threadCpuMs }), unprofiled: { ms: plain.result.ms, processCpuMs: plain.result.processCpuMs, otherCores: plain.otherCores } };
      const startup = startupCpuS(r);
      log(
        `  [${checkout} ${sizeLabel(size)}] process CPU ${fixed(plain.result.processCpuMs / 1000, 2)} s = ${fixed(cpuPerGiBOf(r), 2)} CPU-s/GiB; under --cpu-prof ${fixed(r.processCpuMs / 1000, 2)} s (transfer only ${fixed(r.transferCpuMs / 1000 / (size / GiB), 2)}; before the transfer started ${startup === undefined ? 'n/a' : `${fixed(startup, 2)} s`}` +
          `${r.threadCpuMs === undefined ? '' : `; by thread ${Object.entries(r.threadCpuMs).map(([k, v]) => `${k} ${fixed(v / 1000, 2)} s`).join(', ')}`}); other load ${fixed(r.otherCores, 2)}`,
      );
      runs.push(r);
    }
  }
  for (const [checkout] of checkouts) {
    const fit = cpuFit(runs, checkout);
    if (fit !== undefined) log(`  [${checkout}] fit: ${fitText(fit)}`);
  }
  return runs;
}

async function hashRows(env: Env, o: Options, cpu: string): Promise<HashRow[]> {
  const size = o.big;
  const { key, sha1 } = await object(env, size);
  log(`\nwhole-file hash: HashObject path against a raw read of the same object, ${sizeLabel(size)}`);
  const reps = o.quick ? 1 : 2;
  // Raw/hash pairs per row, in ABBA order: the ratio is of the medians, so one noisy sample cannot decide it.
  const pairs = o.quick ? 1 : 3;
  const rows: HashRow[] = [];
  // As the HashObject Lambda starts (the runtime's heap options for its memory, through the exec wrapper
  // serverless.yml gives it), then once without the wrapper, which shows what its V8 flag changes.
  const shipped = await lambdaProcessOf('hashObject');
  // A function of one vCPU (Lambda gives one per 1,769 MB) runs pinned to one core (taskset), so it cannot
  // borrow the second for GC or I/O; s3rver (this process) may use both.
  const pinOneVcpu = (memoryMb: number): string | undefined => (memoryMb < 2 * MB_PER_VCPU ? '1' : undefined);
  // The shaped reads, once, on the first row as the Lambda starts: S3 with a cap on each connection.
  const shaper = await startConnectionShaper(env.s3.endpoint, SHAPED_BYTES_PER_SECOND);
  const plan: NonNullable<HashRow['process']>[] = [
    ...Array.from({ length: reps }, () => 'lambda' as const),
    'lambda-no-wrapper',
  ];
  try {
  for (const [i, how] of plan.entries()) {
    const rep = i + 1;
    const lambda = how === 'lambda' ? shipped : { memoryMb: shipped.memoryMb };
    const cpuList = pinOneVcpu(lambda.memoryMb);
    const job: Job = { kind: 'hash-s3', s3Endpoint: env.s3.endpoint, bucket: env.bucket, key, pairs, ...(i === 0 ? { shapedEndpoint: shaper.endpoint } : {}) };
    const { result: r, otherCores } = await runMeasured(job, { ...NOW, lambda, ...(cpuList === undefined ? {} : { cpuList }) });
    if (r.sha1 !== sha1) throw new IntegrityFailure(`hash: got ${r.sha1}, the object's SHA-1 is ${sha1}`);
    const m = r.marks ?? {};
    const at = Array.from({ length: m.pairs ?? 0 }, (_, p) => p);
    const mark = (p: number, what: string): number => m[`pair${p}${what}`] ?? Number.NaN;
    const row: HashRow = {
      cpu,
      date: new Date().toISOString().slice(0, 10),
      size,
      readOnlyMiBs: median(at.map((p) => mibPerSecond(size, mark(p, 'ReadMs')))),
      hashObjectMiBs: median(at.map((p) => mibPerSecond(size, mark(p, 'HashMs')))),
      pairs: at.map((p) => ({ readMiBs: mibPerSecond(size, mark(p, 'ReadMs')), hashMiBs: mibPerSecond(size, mark(p, 'HashMs')), hashRanges: mark(p, 'HashRanges') })),
      rangedReadMiBs: mibPerSecond(size, m.rangedReadMs ?? Number.NaN),
      rangedStreams: m.rangedStreams ?? Number.NaN,
      nodeStreamMiBs: mibPerSecond(size, m.nodeStreamMs ?? Number.NaN),
      resumableMiBs: mibPerSecond(size, m.hashWasmSlicesMs ?? Number.NaN),
      engine: m.hashSliceNodeCrypto === 1 ? 'node:crypto' : 'hash-wasm',
      otherCores,
      readOnlyCpuPerGiB: median(at.map((p) => mark(p, 'ReadCpuMs'))) / 1000 / (size / GiB),
      hashObjectCpuPerGiB: median(at.map((p) => mark(p, 'HashCpuMs'))) / 1000 / (size / GiB),
      process: how,
      memoryMb: lambda.memoryMb,
      ...(cpuList === undefined ? {} : { cpuList }),
      ...(m.shapedHashSliceMs === undefined
        ? {}
        : {
            shaped: {
              bytesPerSecond: SHAPED_BYTES_PER_SECOND,
              rangesInFlight: m.rangesInFlight ?? Number.NaN,
              rangeBytes: m.rangeBytes ?? Number.NaN,
              oneStreamMiBs: mibPerSecond(size, m.shapedOneStreamMs ?? Number.NaN),
              parallelMiBs: mibPerSecond(size, m.shapedParallelMs ?? Number.NaN),
              hashObjectMiBs: mibPerSecond(size, m.shapedHashSliceMs ?? Number.NaN),
              hashRanges: m.shapedHashRanges ?? Number.NaN,
            },
          }),
    };
    for (const [p, pair] of (row.pairs ?? []).entries()) {
      log(
        `  [hash #${rep} pair ${p + 1}, ${p % 2 === 0 ? 'raw first' : 'hash first'}] raw read ${fixed(pair.readMiBs)} MiB/s; HashObject path ${fixed(pair.hashMiBs)} MiB/s ` +
          `(${pair.hashRanges} ranges in flight at most) = ${fixed(pair.hashMiBs / pair.readMiBs, 2)}x`,
      );
    }
    log(
      `  [hash #${rep}, ${hashProcessLabel(row)}] medians of ${row.pairs?.length ?? 0}: raw read ${fixed(row.readOnlyMiBs)} MiB/s (${fixed(row.readOnlyCpuPerGiB ?? Number.NaN, 2)} CPU-s/GiB); ` +
        `HashObject path (${row.engine}) ${fixed(row.hashObjectMiBs)} MiB/s (${fixed(row.hashObjectCpuPerGiB ?? Number.NaN, 2)} CPU-s/GiB) = ${fixed(row.hashObjectMiBs / row.readOnlyMiBs, 2)}x (per pair ${range(pairRatios(row), 2, 'x')}); ` +
        `raw over ${row.rangedStreams} ranged streams (not judged) ${fixed(row.rangedReadMiBs ?? Number.NaN)} MiB/s; ` +
        `resumable slices (hash-wasm) ${fixed(row.resumableMiBs)} MiB/s; node:crypto on one stream ${fixed(row.nodeStreamMiBs)} MiB/s; other load ${fixed(otherCores, 2)}`,
    );
    if (row.shaped !== undefined) {
      log(
        `  [hash shaped, ${mib(row.shaped.bytesPerSecond)}/s per connection] one stream ${fixed(row.shaped.oneStreamMiBs)} MiB/s; ` +
          `${row.shaped.rangesInFlight} ranged streams ${fixed(row.shaped.parallelMiBs)} MiB/s; HashObject path ${fixed(row.shaped.hashObjectMiBs)} MiB/s (${row.shaped.hashRanges ?? 'n/a'} ranges in flight at most)`,
      );
    }
    rows.push(row);
  }
  } finally {
    await shaper.close();
  }
  return rows;
}

/** Each pair's own HashObject / raw read ratio (rows of earlier runs: none). */
function pairRatios(h: HashRow): number[] {
  return (h.pairs ?? []).map((p) => p.hashMiBs / p.readMiBs);
}

/**
 * The hash target's ratio over some rows: the median of all their HashObject samples over the median of all their
 * raw reads (rows of earlier runs, without pairs: the median of their one-sample ratios), and each pair's ratio.
 */
export function hashRatio(rows: HashRow[]): { ratio: number; pairs: number; perPair: number[] } {
  const paired = rows.flatMap((h) => h.pairs ?? []);
  if (paired.length === 0) return { ratio: median(rows.map((h) => h.hashObjectMiBs / h.readOnlyMiBs)), pairs: 0, perPair: [] };
  return {
    ratio: median(paired.map((p) => p.hashMiBs)) / median(paired.map((p) => p.readMiBs)),
    pairs: paired.length,
    perPair: paired.map((p) => p.hashMiBs / p.readMiBs),
  };
}

/** The shaped hash row of this run (measured on its first row as the Lambda starts), with its reading. */
export function renderShapedHash(rows: HashRow[]): string {
  const row = rows.find((h) => h.shaped !== undefined);
  const shaped = row?.shaped;
  const head =
    `#### The same hash behind a per-connection cap (a stand-in for S3 in AWS)\n\n` +
    `In AWS one S3 request carries about 85-90 MB/s, so a hash that reads one connection at a time is capped there whatever its CPU; s3rver on loopback has no such cap, and the 0.8x target above (against one raw stream from the same S3) cannot see it. ` +
    `Here a loopback TCP proxy in front of s3rver (bench/hash-shaper.ts) paces each connection's answer to ${mib(SHAPED_BYTES_PER_SECOND)}/s (what this 2-core machine can carry over several connections at once, not S3's own figure), ` +
    `and the same object is read through it: one GetObject stream, the hash's ranged GETs k at a time (read and dropped), and the HashObject path, which starts with one range and opens more while its thread waits on the network (up to k): its column says how many it reached. A connection left idle earns no burst (at most 20 ms of credit). This row is not a target of the issue; the 0.8x target stays judged on the unshaped rows.`;
  if (row === undefined || shaped === undefined) return `${head}\n\n${shapedHashReading(undefined, Number.NaN, Number.NaN).text}`;
  const reading = shapedHashReading(shaped, row.hashObjectMiBs, row.resumableMiBs);
  return (
    `${head}\n\n` +
    table(
      ['CPU', 'process', 'object', 'cap per connection', 'one stream MiB/s', `${shaped.rangesInFlight} ranged streams of ${mib(shaped.rangeBytes)} MiB/s`, 'HashObject path MiB/s', 'its ranges in flight (most)', 'HashObject path unshaped MiB/s', 'other load'],
      [[row.cpu, hashProcessLabel(row), sizeLabel(row.size), `${mib(shaped.bytesPerSecond)}/s`, fixed(shaped.oneStreamMiBs), fixed(shaped.parallelMiBs), fixed(shaped.hashObjectMiBs), shaped.hashRanges === undefined ? `${shaped.rangesInFlight} (fixed)` : fixed(shaped.hashRanges, 0), fixed(row.hashObjectMiBs), fixed(row.otherCores, 2)]],
    ) +
    `\n\n${reading.text}`
  );
}

/** The per-connection cap of the shaped hash row: what this 2-core machine can carry over several connections. */
const SHAPED_BYTES_PER_SECOND = 64 * MiB;
/** S3's bandwidth per request in AWS, the low end of its guidance (85-90 MB/s; shared/reference limits). */
const S3_BYTES_PER_CONNECTION = 85e6;

/**
 * What the shaped hash row says: how much k connections carry over one, whether the HashObject path keeps up
 * with them (or with its own CPU-bound speed, the faster of its unshaped and shaped runs, whichever is lower),
 * and what that predicts in AWS (k connections at S3's 85 MB/s each, or that hash speed, scaled by the same
 * efficiency): for an object node:crypto hashes (one that fits half an invocation at that rate, as hash.ts
 * decides), and for 500 GB, which never does and is hashed with hash-wasm at this run's resumable rate.
 * NaN anywhere: not measured.
 */
export function shapedHashReading(
  shaped: ShapedHash | undefined,
  unshapedHashMiBs: number,
  resumableMiBs: number,
): { measured: boolean; parallelX: number; efficiency: number; awsMBs: number; nodeCryptoUpToGB: number; awsMBs500GB: number; awsMinutes500GB: number; oneStreamMinutes500GB: number; cpuBound: boolean; text: string } {
  const none = { measured: false, parallelX: Number.NaN, efficiency: Number.NaN, awsMBs: Number.NaN, nodeCryptoUpToGB: Number.NaN, awsMBs500GB: Number.NaN, awsMinutes500GB: Number.NaN, oneStreamMinutes500GB: Number.NaN, cpuBound: false };
  if (shaped === undefined) return { ...none, text: 'Shaped S3: not measured in this run.' };
  const values = [shaped.oneStreamMiBs, shaped.parallelMiBs, shaped.hashObjectMiBs, shaped.rangesInFlight, unshapedHashMiBs, resumableMiBs];
  if (!values.every((v) => Number.isFinite(v) && v > 0)) return { ...none, text: 'Shaped S3: not measured (a reading is missing).' };
  const parallelX = shaped.parallelMiBs / shaped.oneStreamMiBs;
  // Its own (CPU-bound) speed: unshaped, or shaped when that run was faster (the machine's load varies).
  const hashMiBs = Math.max(unshapedHashMiBs, shaped.hashObjectMiBs);
  // What the HashObject path could reach here: k capped connections, or its own speed.
  const bound = Math.min(shaped.parallelMiBs, hashMiBs);
  const efficiency = Math.min(1, shaped.hashObjectMiBs / bound);
  const connectionsMBs = (shaped.rangesInFlight * S3_BYTES_PER_CONNECTION) / 1e6;
  const awsMBs = efficiency * Math.min(connectionsMBs, (hashMiBs * MiB) / 1e6);
  // hash.ts's rule: node:crypto when the rest of the object takes at most half the time an invocation has.
  const nodeCryptoUpToGB = (awsMBs * 1e6 * (HASH_IN_AWS.invocationSeconds / 2)) / 1e9;
  const awsMBs500GB = 500 <= nodeCryptoUpToGB ? awsMBs : efficiency * Math.min(connectionsMBs, (resumableMiBs * MiB) / 1e6);
  const awsMinutes500GB = 500e9 / (awsMBs500GB * 1e6) / 60;
  const oneStreamMinutes500GB = 500e9 / S3_BYTES_PER_CONNECTION / 60;
  const boundBy = shaped.parallelMiBs <= hashMiBs ? `the ${shaped.rangesInFlight} capped connections` : 'its own CPU-bound speed';
  // k connections that carry well under k x the cap are bound by this machine's CPU (s3rver, the proxy and the
  // reader share its 2 cores), not by the cap: then the shaped row understates what k connections give in AWS.
  const capBytes = (shaped.rangesInFlight * shaped.bytesPerSecond) / MiB;
  const cpuBound = shaped.parallelMiBs < 0.8 * capBytes;
  const text =
    `Shaped S3, ${mib(shaped.bytesPerSecond)}/s per connection: ${shaped.rangesInFlight} ranged streams carry ${fixed(parallelX, 1)}x one stream; ` +
    `the HashObject path runs at ${fixed(shaped.hashObjectMiBs)} MiB/s, ${fixed(100 * efficiency, 0)} % of what bounds it here (${boundBy}: ${fixed(bound)} MiB/s). ` +
    (cpuBound
      ? `The ${shaped.rangesInFlight} connections carried ${fixed(shaped.parallelMiBs)} of the ${fixed(capBytes)} MiB/s their caps allow: this machine's CPU (s3rver, the proxy and the reader on 2 shared cores) bounded them, not the cap. `
      : '') +
    `In AWS (S3 at ~85 MB/s per connection, Lambda's core as fast as this machine's at this run's other load): an object of up to about ${fixed(nodeCryptoUpToGB, 0)} GB (half an invocation's ${HASH_IN_AWS.invocationSeconds} s at that rate) is hashed with node:crypto at about ${fixed(awsMBs, 0)} MB/s; ` +
    (awsMBs500GB === awsMBs
      ? `500 GB too: ${fixed(awsMinutes500GB, 0)} minutes, `
      : `500 GB does not fit and is hashed with hash-wasm, whose state crosses invocations, at about ${fixed(awsMBs500GB, 0)} MB/s (this row's resumable rate, ${fixed(resumableMiBs)} MiB/s, at the same efficiency): ${fixed(awsMinutes500GB, 0)} minutes, `) +
    `against ${fixed(oneStreamMinutes500GB, 0)} minutes over one connection.`;
  return { measured: true, parallelX, efficiency, awsMBs, nodeCryptoUpToGB, awsMBs500GB, awsMinutes500GB, oneStreamMinutes500GB, cpuBound, text };
}

/** CPU seconds a process has used so far (utime + stime from /proc; 10 ms resolution). */
async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/**
 * Whether a checkout's CLI can start with empty caches: Node's compile cache follows NODE_COMPILE_CACHE, and
 * the stripped-TypeScript cache (bin/ts-cache.js), where the checkout has one, S3_TO_BOX_TS_CACHE_DIR.
 */
async function coldStartable(dir: string): Promise<boolean> {
  const cache = await readFile(path.join(dir, 'bin/ts-cache.js'), 'utf8').catch(() => undefined);
  return cache === undefined || cache.includes('S3_TO_BOX_TS_CACHE_DIR');
}

async function cliFirstRequest(env: Env, o: Options): Promise<CliRun[]> {
  const runs: CliRun[] = [];
  const { key } = await object(env, 21_000_000);
  const checkouts: [CliRun['checkout'], string][] = [['this', ROOT]];
  if (o.before !== undefined) checkouts.unshift(['before', o.before]);
  log(`\nCLI: from \`node bin/s3-to-box.js transfer ...\` to the first Box request, ${o.cliRuns} runs each, warm and cold`);
  const cold = new Map(await Promise.all(checkouts.map(async ([checkout, dir]) => [checkout, await coldStartable(dir)] as const)));
  let first: (() => void) | undefined;
  await withEmulator(env, { onRequest: () => first?.() }, async (box) => {
    // Run 0 is not timed: it fills the caches a start keeps (Node's compile cache, and the stripped
    // TypeScript where the checkout keeps it), as any start after a user's first finds them. Each counted
    // warm run is followed by a cold one, whose caches are empty folders of its own.
    const plan: [number, CliRun['checkout'], string, CliRun['cache']][] = [];
    for (let i = 0; i <= o.cliRuns; i++) {
      for (const [checkout, dir] of checkouts) {
        plan.push([i, checkout, dir, 'warm']);
        if (i > 0 && cold.get(checkout) === true) plan.push([i, checkout, dir, 'cold']);
      }
    }
    for (const [i, checkout, dir, cache] of plan) {
      const caches = cache === 'cold' ? await mkdtemp(path.join(env.dataRoot, 'cli-cold-')) : undefined;
      const coldEnv = caches === undefined ? {} : { S3_TO_BOX_TS_CACHE_DIR: path.join(caches, 'ts'), NODE_COMPILE_CACHE: path.join(caches, 'node') };
      const started = performance.now();
      let at = Number.NaN;
      let cpuAt = Number.NaN;
      const child = spawn(
        process.execPath,
        [path.join(dir, 'bin/s3-to-box.js'), 'transfer', `s3://${env.bucket}/${key}`, '--folder', '0', '--name', `cli-${checkout}-${cache}-${i}.bin`, '--on-conflict', 'rename',
          '--s3-endpoint', env.s3.endpoint, '--box-api-url', box.url, '--box-upload-url', box.uploadUrl, '--box-token', box.token, '--quiet'],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', ...coldEnv } },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      first = () => {
        if (!Number.isNaN(at)) return;
        at = performance.now() - started;
        void processCpuMs(child.pid as number).then((ms) => (cpuAt = ms));
      };
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      first = undefined;
      if (caches !== undefined) await rm(caches, { recursive: true, force: true });
      if (code !== 0) throw new Error(`CLI (${checkout}, ${cache}) exited with ${code}: ${stderr.slice(-1000)}`);
      const r: CliRun = { checkout, cache, firstRequestMs: at, firstRequestCpuMs: cpuAt, totalMs: performance.now() - started };
      log(`  [cli ${checkout} ${cache} ${i === 0 ? 'warm-up, not counted' : `#${i}`}] first Box request at ${fixed(r.firstRequestMs, 0)} ms (CPU ${fixed(r.firstRequestCpuMs, 0)} ms); done at ${fixed(r.totalMs, 0)} ms`);
      if (i > 0) runs.push(r);
    }
  });
  return runs;
}

// --- tracing and logs ------------------------------------------------------------------------------

/** Box's part size for the tracing runs: a 32 MiB object in 4 parts, one UploadBatch invocation. */
const TRACING_PART = 8 * MiB;
const TRACING_PARTS = 4;

async function tracingCost(env: Env, o: Options): Promise<TracingResults> {
  const size = TRACING_PART * TRACING_PARTS;
  const { key, sha1 } = await object(env, size);
  // HashObject also hashes a big object once per process: what tracing costs per byte on the hash path.
  const bigBytes = o.quick ? 64 * MiB : 512 * MiB;
  const big = { ...(await object(env, bigBytes)), bytes: bigBytes };
  log(`\nX-Ray tracing: the shipped Prepare, UploadBatch, HashObject and Commit bundles, tracing off and on, ${o.tracingRounds} round(s) x ${o.tracingInvocations} invocations`);
  return measureTracing({
    rounds: o.tracingRounds,
    invocations: o.tracingInvocations,
    objectBytes: size,
    partBytes: TRACING_PART,
    parts: TRACING_PARTS,
    workDir: env.dataRoot,
    log,
    withTarget: (use) =>
      withEmulator(env, { partSize: TRACING_PART }, (box) =>
        use({
          bucket: env.bucket,
          key,
          sha1,
          big,
          env: lambdaEnvOf(env, box),
        }),
      ),
  });
}

/** Runs the shipped UploadBatch bundle once in a fresh Node process started as Lambda starts it; returns its peaks. */
function invokeBundle(
  bundle: string,
  lambda: LambdaProcess,
  event: unknown,
  env: Record<string, string>,
): Promise<{ maxRssBytes: number; idleRssBytes: number; arrayBuffersBytes: number; processCpuMs: number; result: { parts: number; bytes: number } }> {
  const script = `
    const m = await import(process.argv[1]);
    const idle = process.memoryUsage().rss;
    let ab = 0;
    const t = setInterval(() => { ab = Math.max(ab, process.memoryUsage().arrayBuffers); }, 20);
    const result = await m.handler(JSON.parse(process.env.BENCH_EVENT), { awsRequestId: 'bench', getRemainingTimeInMillis: () => 900000 });
    clearInterval(t);
    const usage = process.resourceUsage();
    process.stdout.write(JSON.stringify({ maxRssBytes: usage.maxRSS * 1024, idleRssBytes: idle, arrayBuffersBytes: ab, processCpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, result }));
    process.exit(0);`;
  return new Promise((resolve, reject) => {
    const command = lambdaCommand(lambda, process.execPath, ['--input-type=module', '-e', script, bundle]);
    const child = spawn(command.file, command.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', ...env, BENCH_EVENT: JSON.stringify(event) },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`UploadBatch bundle exited with ${code}: ${err.slice(-1500)}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as never);
    });
  });
}

async function batchMemory(env: Env, o: Options): Promise<BatchRun[]> {
  const runs: BatchRun[] = [];
  const partSizes = o.quick ? [8 * MiB] : [8 * MiB, 64 * MiB];
  log(`\nmemory: one UploadBatch invocation of the shipped bundle (minified, as in the zip) in its own process, on the shaped link (${mib(o.bandwidth)}/s per connection, +${o.latencyMs} ms per request)`);
  const bundleDir = await mkdtemp(path.join(env.dataRoot, 'bundle-'));
  const bundle = await buildShipped('uploadBatch', bundleDir);
  const lambda = await lambdaProcessOf('uploadBatch');
  const { makePrepareHandler } = await import('../functions/prepare.ts');
  const { BoxClient, DeveloperTokenAuth } = await import('../src/box/index.ts');
  const { silentLogger } = await import('../src/transfer/logger.ts');
  for (const partSize of partSizes) {
    for (const inFlight of [1, 2, 4, 8]) {
      const parts = Math.max(2, 2 * inFlight);
      // Enough bytes for the parts, and above Box's chunked minimum.
      const size = Math.max(parts * partSize, 32 * MiB);
      const { key } = await object(env, size);
      // On the shaped link: a part's PUT then lasts as long as against Box, so the parts in flight overlap (on
      // plain loopback a 64 MiB PUT could end before the last of 8 S3 reads did, and fewer were ever in flight).
      const r = await withEmulator(env, { partSize, latencyMs: o.latencyMs, bandwidthBytesPerSecond: o.bandwidth }, async (box) => {
        // Prepare here (it opens the session); the child process runs only the batch.
        const client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl });
        const prepared = (await makePrepareHandler({ s3: env.s3.client, box: async () => client, logger: silentLogger })(
          { source: { bucket: env.bucket, key }, destination: { folderId: '0', fileName: `batch-${partSize}-${inFlight}.bin` }, onConflict: 'fail', options: { partsPerBatch: parts } },
          { awsRequestId: 'bench', getRemainingTimeInMillis: () => 120_000 },
        )) as PrepareResult;
        await client.close();
        box.resetStats();
        const machineBefore = machineCpuTimes();
        const started = performance.now();
        const cpu = process.cpuUsage();
        const peaks = await invokeBundle(bundle, lambda, { transfer: { ...prepared.transfer, partsInFlight: inFlight }, batch: 0 }, {
          AWS_REGION: 'us-east-1',
          ...lambdaEnvOf(env, box),
          LOG_LEVEL: 'error',
        });
        const server = process.cpuUsage(cpu);
        // The bench's own CPU: the servers in this process and the UploadBatch child itself.
        const other = otherCores(machineBefore, machineCpuTimes(), (server.user + server.system) / 1000 + peaks.processCpuMs, performance.now() - started);
        if (peaks.result.bytes !== Math.min(parts * partSize, size)) throw new IntegrityFailure(`UploadBatch moved ${peaks.result.bytes} bytes, expected ${parts * partSize}`);
        return { peaks, other, maxPartsInFlight: box.stats().maxPartsInFlight };
      });
      const run: BatchRun = {
        partSize,
        partsInFlight: inFlight,
        parts: r.peaks.result.parts,
        rssBytes: r.peaks.maxRssBytes,
        idleRssBytes: r.peaks.idleRssBytes,
        boundBytes: 2 * partSize * inFlight + 120 * MiB,
        arrayBuffersBytes: r.peaks.arrayBuffersBytes,
        otherCores: r.other,
        maxPartsInFlight: r.maxPartsInFlight,
      };
      log(
        `  [batch ${mib(partSize)} x ${inFlight}] ${run.parts} parts, at most ${run.maxPartsInFlight} part PUTs at once at the emulator; ` +
          `peak RSS ${mib(run.rssBytes)} (after import ${mib(run.idleRssBytes)}; bound ${mib(run.boundBytes)}) ${run.rssBytes <= run.boundBytes ? 'within' : 'ABOVE'}; other load ${fixed(run.otherCores, 2)}`,
      );
      runs.push(run);
    }
  }
  await rm(bundleDir, { recursive: true, force: true });
  return runs;
}

/** The runner process alone moving the big object; the servers stay in the bench's process (demoPipeline measures them too). */
async function hugePipeline(env: Env, o: Options): Promise<E2eRun> {
  log(`\nmemory: the runner process moving ${sizeLabel(o.huge)} (loopback, concurrency 8; s3rver and the emulator in the bench's process)`);
  const { sha1 } = await object(env, o.huge);
  // The emulator keeps this one's parts on disk: the source already takes its size in memory.
  const m = await withEmulator(
    env,
    { commitProcessing: COMMIT_202 },
    async (box) => {
      const measured = await runMeasured(await pipelineJob(env, box, o.huge, 8, 'huge.bin'), NOW);
      checkSha1('huge pipeline', measured.result, sha1);
      return measured;
    },
    os.tmpdir(),
  );
  const r = e2eRun('pipeline', o.huge, 1, m, 8);
  logRun('pipeline', r);
  await dropObject(env, o.huge);
  return r;
}

/**
 * Loaded with --import into the demo's process: writes its peak RSS and CPU time when it exits. bin/s3-to-box.js
 * re-executes itself with the runner's V8 flags (same pid; NODE_OPTIONS kept), and getrusage keeps the peak
 * across that exec, so these are the figures of the one process the user runs.
 */
const USAGE_ON_EXIT =
  "import{writeFileSync}from'node:fs';const f=process.env.BENCH_USAGE_FILE;" +
  "if(f)process.on('exit',()=>{const u=process.resourceUsage();writeFileSync(f,JSON.stringify({maxRssBytes:u.maxRSS*1024,cpuMs:(u.userCPUTime+u.systemCPUTime)/1000}))});";

/** `s3-to-box demo --size SIZE --json` in a child process, as a user runs `npm start -- --size SIZE`: its peak RSS is the whole local pipeline's. */
async function demoPipeline(o: Options): Promise<DemoRun> {
  log(`\nmemory: what a user runs, \`s3-to-box demo --size ${sizeLabel(o.huge)}\` (s3rver, the Box emulator and the runner in one process), in a child process`);
  // Its s3rver and emulator keep their data under the OS temp folder: a folder of the bench's (TMPDIR), removed after.
  const dir = await mkdtemp(path.join(os.tmpdir(), 's3-to-box-demo-'));
  const usageFile = path.join(dir, 'usage.json');
  try {
    const machineBefore = machineCpuTimes();
    const benchCpu = process.cpuUsage();
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/s3-to-box.js'), 'demo', '--size', String(o.huge), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        TMPDIR: dir,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=data:text/javascript,${encodeURIComponent(USAGE_ON_EXIT)}`.trim(),
        BENCH_USAGE_FILE: usageFile,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const ms = performance.now() - started;
    const bench = process.cpuUsage(benchCpu);
    if (code !== 0) throw new Error(`s3-to-box demo exited with ${code}: ${stderr.slice(-1500)}`);
    const shown = JSON.parse(stdout) as { verified?: unknown; sourceSha1?: unknown; downloadedSha1?: unknown };
    if (shown.verified !== true) throw new IntegrityFailure(`s3-to-box demo: the downloaded file's SHA-1 ${String(shown.downloadedSha1)} is not the source's ${String(shown.sourceSha1)}`);
    const usage = JSON.parse(await readFile(usageFile, 'utf8')) as { maxRssBytes: number; cpuMs: number };
    const run: DemoRun = {
      size: o.huge,
      ms,
      rssBytes: usage.maxRssBytes,
      cpuMs: usage.cpuMs,
      otherCores: otherCores(machineBefore, machineCpuTimes(), usage.cpuMs + (bench.user + bench.system) / 1000, ms),
    };
    log(`  [demo] ${sizeLabel(run.size)}: ${fixed(run.ms / 1000, 1)} s in all, CPU ${fixed(run.cpuMs / 1000, 1)} s, peak RSS ${mib(run.rssBytes)}; other load ${fixed(run.otherCores, 2)}; SHA-1 of the download checked`);
    return run;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// --- cost model -----------------------------------------------------------------------------------

/** us-east-1 list prices (on-demand, no free tier applied). */
export const PRICES = {
  transition: 0.025 / 1000, // Step Functions Standard, per state transition
  // Lambda duration, per GB-second, by architecture (first tier: the first 7.5 billion arm64 / 6 billion x86 GB-s a month)
  lambdaGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 } satisfies Record<Architecture, number>,
  lambdaRequest: 0.2 / 1_000_000, // Lambda, per request
  s3Get: 0.0004 / 1000, // S3 Standard GET (and HEAD), per request
  dataOutPerGB: 0.09, // data transfer out to the internet, first 10 TB/month, per GB
  logsIngestedPerGB: 0.5, // CloudWatch Logs, Lambda logs' first tier (first 10 TB/month; Standard class), per GB ingested
  logsStoredPerGBMonth: 0.03, // CloudWatch Logs storage, per GB-month (kept 30 days: logRetentionInDays)
  xrayTraceRecorded: 5 / 1_000_000, // X-Ray, per trace recorded (the first 100,000 a month are free)
} as const;

/** What the price list above is: region and when it was read (no network here to read it again). */
const PRICE_SOURCE =
  'us-east-1 list prices, no free tier (Step Functions, Lambda requests and x86 duration, S3 and data out as in the reference notes; Lambda arm64 duration, CloudWatch Logs and X-Ray from AWS\'s pricing pages as stored copies showed them, read 2026-12-02: ' +
  'a GB-second costs $0.0000133334 on arm64 and $0.0000166667 on x86_64 in the first tier; Lambda logs are priced in tiers since 2025-05-01, whose first 10 TB a month cost what Standard ingestion does)';

/** X-Ray keeps at least this much trace data per Step Functions trace; more may freeze the trace (AWS's Step Functions guide). */
const XRAY_GUARANTEED_TRACE_BYTES = 100 * 1024;

/**
 * What the cost model assumes of the whole-file hash in AWS (the local run's hash, on loopback, says nothing of
 * it): reads at S3's documented 85 MB/s per connection (shared/reference: 85-90) over the hash's ranged GETs in
 * flight, but no faster than SHA-1 on the function's one vCPU, with the hasher the code picks (src/transfer/hash.ts):
 * node:crypto when the object fits in half an invocation's time at that rate, else hash-wasm (a state that can be
 * saved) in slices. The rates are set under this machine's pinned rows of the hash table (the HashObject path, its
 * GETs through the lean reader, read and hash on one core, AMD EPYC, 2026-12-02): node:crypto from its CPU, 0.87-0.89
 * CPU-s per GiB (about 1.2 GB/s where S3 keeps up; the rows' 558-876 MiB/s were bound by s3rver), so the 8 x 85
 * MB/s of reads bound it; resumable hash-wasm in four slices 335-509 MiB/s, 352-534 MB/s. Lambda's arm64 core is
 * assumed as fast, which is not measured. An invocation hashes for its 900 s timeout less the hash's safety margin.
 */
export const HASH_IN_AWS = {
  s3BytesPerSecondPerConnection: 85e6,
  nodeCryptoBytesPerSecond: 900e6,
  hashWasmBytesPerSecond: 350e6,
  invocationSeconds: 900 - DEFAULT_SETTINGS.hashSafetyMarginMs / 1000,
} as const;

/** The hasher the code picks for an object of `bytes` in AWS at HASH_IN_AWS's rates, and the rate it hashes at. */
export function hashInAws(bytes: number, rangesInFlight: number): { engine: 'node:crypto' | 'hash-wasm'; bytesPerSecond: number } {
  const reads = HASH_IN_AWS.s3BytesPerSecondPerConnection * rangesInFlight;
  const nodeRate = Math.min(reads, HASH_IN_AWS.nodeCryptoBytesPerSecond);
  // hash.ts's fitsWell: the rest of the object within half the time left.
  if (bytes / nodeRate <= HASH_IN_AWS.invocationSeconds / 2) return { engine: 'node:crypto', bytesPerSecond: nodeRate };
  return { engine: 'hash-wasm', bytesPerSecond: Math.min(reads, HASH_IN_AWS.hashWasmBytesPerSecond) };
}

/** What the code plans for one object of `bytes`: Box's part size and parts, the batch plan, the hash's slices and GETs. */
export interface PlannedCounts {
  partSize: number;
  parts: number;
  /** UploadBatch invocations (Map items): planBatches with the deployed settings at the default concurrency. */
  batches: number;
  /** HashObject invocations at HASH_IN_AWS's rate for the hasher the code picks, and the seconds they hash. */
  hashEngine: 'node:crypto' | 'hash-wasm';
  hashSlices: number;
  hashSeconds: number;
  /** The hash's ranged GETs. */
  hashGets: number;
}

/**
 * The counts the code makes for an object of `bytes`: the part size the Box emulator hands out (Box's own rule
 * is not documented: the smallest power of two from 8 MiB that keeps 10,000 parts or fewer), planBatches with
 * the deployed settings, and the hash's slices at HASH_IN_AWS's rate.
 */
export function plannedCounts(bytes: number, settings: Readonly<TransferSettings> = DEFAULT_SETTINGS): PlannedCounts {
  const partSize = defaultPartSize(bytes);
  const parts = Math.ceil(bytes / partSize);
  const plan = planBatches(parts, partSize, settings.defaultConcurrency, settings);
  const hash = hashInAws(bytes, settings.hashRangesInFlight);
  const hashSeconds = bytes / hash.bytesPerSecond;
  return {
    partSize,
    parts,
    batches: plan.batches.length,
    hashEngine: hash.engine,
    hashSlices: Math.max(1, Math.ceil(hashSeconds / HASH_IN_AWS.invocationSeconds)),
    hashSeconds,
    hashGets: Math.ceil(bytes / settings.hashRangeBytes),
  };
}

export interface CostLine {
  gb: number;
  /** What the code plans at this size (parts, batches, hash slices). */
  planned: PlannedCounts;
  transitions: number;
  invocations: number;
  gbSeconds: number;
  /** The same GB-seconds by the functions' architecture (each priced at its own rate). */
  gbSecondsByArchitecture: Record<Architecture, number>;
  s3Requests: number;
  /** Bytes to CloudWatch Logs (the functions' lines and Lambda's own), when the log bytes were measured. */
  logBytes?: number;
  /** Segment document bytes the functions send to X-Ray for the transfer's one trace, when measured. */
  traceBytes?: number;
  dollars: { transitions: number; lambda: number; s3: number; dataOut: number; logs?: number; xray?: number; total: number };
}

/**
 * One object of `gb` GB: the counts the code makes at that size (plannedCounts: UploadBatch invocations, hash
 * slices, parts and GETs), each priced with what the measured run shows per unit: its transitions per batch and
 * per hash slice, the other states and Prepare/Commit per transfer, UploadBatch's duration per byte (bound by
 * Box's link), HashObject's duration at HASH_IN_AWS's rate, S3 requests one GET per part and per hash range.
 */
export function costModel(run: E2eRun, gbs: number[], lambdas: Record<string, FunctionSize>, observed?: Observed): CostLine[] {
  const c = run.counts;
  if (c === undefined) return [];
  const perByte = new Set(['UploadBatch', 'HashObject']);
  const inv = Object.entries(c.invocations);
  const fixedInv = inv.filter(([s]) => !perByte.has(s));
  const batchInv = c.invocations.UploadBatch;
  const hashInv = c.invocations.HashObject;
  // States entered per Map item and per hash slice, as the run entered them (1 and 2 when it had none).
  const entered = (s: string): number => c.statesEntered[s] ?? 0;
  const perBatch = batchInv !== undefined && batchInv.count > 0 ? entered('UploadBatch') / batchInv.count : 1;
  const perSlice = hashInv !== undefined && hashInv.count > 0 ? (entered('HashObject') + entered('HashDone')) / hashInv.count : 2;
  const fixedTransitions = c.transitions - entered('UploadBatch') - entered('HashObject') - entered('HashDone');
  const otherRequests = Object.entries(c.s3Requests).reduce((n, [k, v]) => (k === 'GetObjectCommand' ? n : n + v), 0);
  return gbs.map((gb) => {
    const bytes = gb * 1e9;
    const p = plannedCounts(bytes);
    const transitions = fixedTransitions + p.batches * perBatch + p.hashSlices * perSlice;
    const invocations = fixedInv.reduce((n, [, v]) => n + v.count, 0) + (batchInv === undefined ? 0 : p.batches) + (hashInv === undefined ? 0 : p.hashSlices);
    const seconds = (state: string): number => {
      if (state === 'UploadBatch') return ((batchInv?.ms ?? 0) / 1000) * (bytes / run.size);
      if (state === 'HashObject') return hashInv === undefined ? 0 : p.hashSeconds;
      return (c.invocations[state]?.ms ?? 0) / 1000;
    };
    const gbSecondsOn = (architecture: Architecture): number =>
      inv.reduce((n, [s]) => (sizeOf(lambdas, s).architecture === architecture ? n + seconds(s) * (sizeOf(lambdas, s).memoryMb / 1024) : n), 0);
    const gbSecondsByArchitecture = { arm64: gbSecondsOn('arm64'), x86_64: gbSecondsOn('x86_64') };
    const gbSeconds = gbSecondsByArchitecture.arm64 + gbSecondsByArchitecture.x86_64;
    const s3Requests = otherRequests + p.parts + (hashInv === undefined ? 0 : p.hashGets);
    const d: CostLine['dollars'] = {
      transitions: transitions * PRICES.transition,
      lambda: gbSecondsByArchitecture.arm64 * PRICES.lambdaGbSecond.arm64 + gbSecondsByArchitecture.x86_64 * PRICES.lambdaGbSecond.x86_64 + invocations * PRICES.lambdaRequest,
      s3: s3Requests * PRICES.s3Get,
      dataOut: gb * PRICES.dataOutPerGB,
      total: 0,
    };
    d.total = d.transitions + d.lambda + d.s3 + d.dataOut;
    const line: CostLine = { gb, planned: p, transitions, invocations, gbSeconds, gbSecondsByArchitecture, s3Requests, dollars: d };
    // Logs: each invocation's measured bytes (tracing on, at the deployed log level; a number of lines per
    // invocation, not per part). Trace data, of traced functions only: each invocation's handler document, the Box requests of the states
    // that run once per transfer, and a document per S3 request and per part upload, all as measured.
    const byState = observed?.byState;
    if (observed !== undefined && byState !== undefined && inv.every(([s]) => byState[s] !== undefined)) {
      const count = (s: string, v: { count: number }): number => (s === 'UploadBatch' ? p.batches : s === 'HashObject' ? p.hashSlices : v.count);
      const sum = (xs: typeof inv, f: (x: ObservedInvocation) => number): number => xs.reduce((n, [s, v]) => n + count(s, v) * f(byState[s] as ObservedInvocation), 0);
      const logBytes = sum(inv, (x) => x.logBytes + PLATFORM_LOG_BYTES);
      // Only functions whose environment leaves tracing on send segments: HashObject ships untraced.
      const traced = (xs: typeof inv): typeof inv => xs.filter(([s]) => sizeOf(lambdas, s).traced !== false);
      const tracedRequests = s3Requests - (hashInv !== undefined && sizeOf(lambdas, 'HashObject').traced === false ? p.hashGets : 0);
      const traceBytes = sum(traced(fixedInv), (x) => x.httpBytes) + sum(traced(inv), (x) => x.handlerBytes) + tracedRequests * observed.s3CallBytes + p.parts * observed.partUploadBytes;
      line.logBytes = logBytes;
      line.traceBytes = traceBytes;
      d.logs = (logBytes / 1e9) * (PRICES.logsIngestedPerGB + PRICES.logsStoredPerGBMonth);
      // One trace per transfer: Step Functions traces the execution, and the Lambdas it invokes join that trace.
      d.xray = PRICES.xrayTraceRecorded;
      d.total += d.logs + d.xray;
    }
    return line;
  });
}

function sizeOf(lambdas: Record<string, FunctionSize>, state: string): FunctionSize {
  const size = lambdas[state];
  if (size === undefined) throw new Error(`no function for the Task state ${state} in serverless.yml`);
  return size;
}

// --- report ---------------------------------------------------------------------------------------

/** The batch plan Prepare makes at concurrency 8 for each size (the default settings), as the e2e text says it. */
export function e2ePlanText(sizes: number[], partSize: number): string {
  if (sizes.length === 0) return '';
  const plans = sizes.map((size) => ({ size, ...partRounds(size, partSize, 8) }));
  const first = plans[0] as (typeof plans)[number];
  const ahead = partsReadAheadOf(first.plan.partsInFlight, DEFAULT_SETTINGS);
  return (
    `Its batch plan (Prepare's, at concurrency 8): ${first.plan.mapConcurrency} Map slots x ${first.plan.partsInFlight} parts in flight, ` +
    plans.map((p) => `${sizeLabel(p.size)} in ${p.plan.batches.length} batch${p.plan.batches.length === 1 ? '' : 'es'} of up to ${p.plan.partsPerBatch} parts (${p.rounds} rounds of parts in the busiest slot)`).join(', ') +
    `; each UploadBatch reads ${ahead} part${ahead === 1 ? '' : 's'} from S3 ahead of its PUTs.`
  );
}

/** A unit price without floating-point noise (0.0000002, not 2.0000000000000002e-7). */
function price(x: number): string {
  return x.toFixed(10).replace(/0+$/, '').replace(/\.$/, '');
}

function dollars(x: number): string {
  if (x >= 1) return `$${x.toFixed(2)}`;
  // Below a hundredth of a cent (one X-Ray trace: $0.000005) four decimals would show $0.0000.
  return x >= 0.0001 || x === 0 ? `$${x.toFixed(4)}` : `$${price(x)}`;
}

/**
 * Before against this checkout in words: CPU per GiB, and the categories whose CPU changed most, each
 * category's CPU estimated as its share of the profile times the process's CPU seconds.
 */
function cpuChangeReading(before: CpuRun, now: CpuRun): string {
  const perGiB = cpuPerGiBOf;
  const cpuOf = (x: CpuRun, category: string): number =>
    ((x.profile.categories.find((c) => c.category === category)?.ms ?? 0) / x.profile.totalMs) * (x.processCpuMs / 1000) / (x.size / GiB);
  const categories = [...new Set([...before.profile.categories, ...now.profile.categories].map((c) => c.category))];
  const changes = categories
    .map((c) => ({ c, from: cpuOf(before, c), to: cpuOf(now, c) }))
    .sort((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from))
    .slice(0, 4);
  return (
    `**Reading, ${sizeLabel(now.size)}.** From the earlier checkout to this one, in the same run: ${fixed(perGiB(before), 2)} -> ${fixed(perGiB(now), 2)} CPU-s per GiB ` +
    `(${fixed((100 * (perGiB(now) - perGiB(before))) / perGiB(before), 0)} %). Largest changes, in CPU-s per GiB (a category's share of its profile times the process's CPU): ` +
    `${changes.map((x) => `${x.c} ${fixed(x.from, 2)} -> ${fixed(x.to, 2)}`).join('; ')}.`
  );
}

/**
 * The runner's CPU profile before any of issue 9's work, as the issue itself gives it (not measured by this
 * bench): a 256 MiB transfer, `node --cpu-prof`, about 5.7 CPU-s; its items under this bench's category names.
 */
const BEFORE_ISSUE_9 = {
  bytes: 256 * MiB,
  totalCpuS: 5.7,
  categories: [
    ['SHA-1: hash-wasm', 'hash-wasm', 0.86],
    ['S3 body collection (SDK concatBytes)', "concatBytes in the AWS SDK's body collector", 0.67],
    ['garbage collection', 'garbage collection', 0.71],
    ['streams and sockets', 'HTTP socket reads', 0.52],
    ['module loading and compiling', 'module compilation', 0.25],
  ],
} as const;

/** CPU-s per GiB of one profile category: its share of the profile times the process's CPU seconds. */
function categoryCpuPerGiB(x: CpuRun, category: string): number {
  const ms = x.profile.categories.find((c) => c.category === category)?.ms ?? 0;
  return ((ms / x.profile.totalMs) * (x.processCpuMs / 1000)) / (x.size / GiB);
}

/** The issue's own "before" profile beside this run's columns, per GiB. */
function renderBeforeIssue(shown: CpuRun[]): string {
  const cpu = [...shown].sort((x, y) => x.size - y.size);
  const b = BEFORE_ISSUE_9;
  const perGiB = (s: number): number => s / (b.bytes / GiB);
  const sizes = new Set(cpu.map((x) => x.size)).size;
  const label = (x: CpuRun): string => `${x.checkout === 'this' ? 'this one' : 'before (earlier commit)'}${sizes > 1 ? `, ${sizeLabel(x.size)}` : ''}`;
  return [
    `**Before issue 9** (the issue's own measurement, not made by this bench): a CPU profile of the runner process moving ${sizeLabel(b.bytes)} (\`node --cpu-prof\`) spent about ${b.totalCpuS} CPU-s, ` +
      `${fixed(perGiB(b.totalCpuS), 1)} CPU-s per GiB: ${b.categories.map(([, name, sec]) => `${name} ${sec} s`).join(', ')}. ` +
      `Its size is this run's ${sizeLabel(b.bytes)} row's: that column is the like-for-like (a larger object spreads the fixed part of a transfer over more bytes). ` +
      'Beside this run\'s columns, in CPU-s per GiB (a category\'s share of its profile times the process\'s CPU; the issue\'s items under this bench\'s category names, so compare roughly):',
    '',
    table(
      ['category', 'before issue 9 (the issue\'s profile)', ...cpu.map(label)],
      [
        ...b.categories.map(([category, , sec]) => [category, fixed(perGiB(sec), 2), ...cpu.map((x) => fixed(categoryCpuPerGiB(x, category), 2))]),
        ['whole process, under `node --cpu-prof`', `**${fixed(perGiB(b.totalCpuS), 2)}**`, ...cpu.map((x) => `**${fixed(x.processCpuMs / 1000 / (x.size / GiB), 2)}**`)],
        ['whole process, without the profiler (judged)', 'not measured', ...cpu.map((x) => (x.unprofiled === undefined ? 'not measured' : fixed(cpuPerGiBOf(x), 2)))],
      ],
    ),
  ].join('\n');
}

/** What each part that records other load is called in the section's intro. */
const OTHER_LOAD_LABELS: Partial<Record<Section, string>> = {
  e2e: 'end to end',
  sweep: 'sweep',
  cpu: 'CPU per GiB',
  hash: 'hash',
  tracing: 'tracing',
  memory: 'UploadBatch memory',
  huge: 'big pipeline',
};

/**
 * The largest load from other processes (cores) during this run's own measurements, and the parts it covers:
 * every part that records other load (parts shown from an earlier run left out: their rows carry their own).
 */
export function maxOtherLoad(r: SpeedResults): { cores: number; covered: Section[] } {
  const loads: Partial<Record<Section, number[]>> = {
    e2e: r.e2e.map((x) => x.otherCores),
    sweep: r.sweep.map((x) => x.otherCores),
    cpu: r.cpu.map((x) => x.otherCores),
    hash: r.hash.map((x) => x.otherCores),
    tracing: (r.tracing?.processes ?? []).map((p) => p.otherCores),
    memory: r.batches.map((x) => x.otherCores),
    huge: [...(r.huge === undefined ? [] : [r.huge.otherCores]), ...(r.demo === undefined ? [] : [r.demo.otherCores])],
  };
  const covered = SECTIONS.filter((s) => r.earlier?.[s] === undefined && (loads[s] ?? []).some(Number.isFinite));
  const all = covered.flatMap((s) => (loads[s] ?? []).filter(Number.isFinite));
  return { cores: all.length === 0 ? Number.NaN : Math.max(...all), covered };
}

export function renderSpeed(r: SpeedResults, hashHistory: HashRow[], final = true): string {
  const o = r.options;
  // A part shown from an earlier run (bench/speed-record.ts) is rendered with that run's options, under a line naming it.
  const oOf = (s: Section): RunOptions => r.earlier?.[s]?.options ?? o;
  const from = (s: Section): string[] => {
    const run = r.earlier?.[s];
    return run === undefined ? [] : [earlierLine(run), ''];
  };
  const out: string[] = [];
  out.push(START);
  out.push('## Speed of the whole pipeline (issue 9 targets)');
  out.push('');
  const other = maxOtherLoad(r);
  const covered = `during every measurement of this run that records it (${other.covered.map((s) => OTHER_LOAD_LABELS[s]).join(', ')}; the CLI starts and bundle imports record none)`;
  const loadNote = Number.isNaN(other.cores)
    ? ''
    : other.cores < 0.25
      ? `Processes outside the bench used at most ${fixed(other.cores, 2)} cores ${covered}: the machine was otherwise idle. `
      : `Processes outside the bench used up to ${fixed(other.cores, 2)} of the ${r.machine.cores} cores ${covered}, per run below: absolute times are slow and noisy then; compare the ratios of runs made side by side. `;
  const partial = SECTIONS.filter((s) => !o.sections.has(s));
  const shownEarlier = partial.filter((s) => r.earlier?.[s] !== undefined);
  const partialNote =
    partial.length === 0
      ? ''
      : ` This run measured only ${SECTIONS.filter((s) => o.sections.has(s)).join(', ')} (\`--sections\`)` +
        (shownEarlier.length > 0 ? `; ${shownEarlier.join(', ')} come from earlier runs (bench/speed-results.json), each named under its heading` : '') +
        (shownEarlier.length < partial.length ? `; ${partial.filter((s) => !shownEarlier.includes(s)).join(', ')} not measured` : '') +
        '.';
  out.push(
    `Command: \`${o.command}\`. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ` +
      `${mib(r.machine.memoryBytes)} RAM, Node ${r.machine.node}; ${r.machine.date}; ${fixed(r.seconds / 60, 1)} minutes.${partialNote} ` +
      `Load average at start ${r.machine.loadStart.map((x) => x.toFixed(1)).join(' / ')}, at end ${r.machine.loadEnd.map((x) => x.toFixed(1)).join(' / ')}. ${loadNote}` +
      '"Other load" is the cores used by processes outside the bench during a run. Every upload\'s SHA-1, as Box computed it, was checked against the source\'s.',
  );
  out.push('');
  if (!final) {
    out.push(
      `**Written while the run was still going** (after ${fixed(r.seconds / 60, 1)} minutes): what it had not measured yet is shown from an earlier run (named under its heading) where the record holds one, and is otherwise marked "not measured" or left empty.`,
    );
    out.push('');
  }

  out.push(targetsSummary(r));
  out.push('');

  // End to end
  const oE2e = oOf('e2e');
  out.push(`### End to end on the shaped link: ${mib(oE2e.bandwidth)}/s per connection, +${oE2e.latencyMs} ms per request, ${mib(oE2e.partSize)} parts, one commit 202 (Retry-After 1 s) for both`);
  out.push('');
  out.push(...from('e2e'));
  out.push(
    'The official SDK: `box-node-sdk` `uploadBigFile` fed by the object\'s S3 GetObject stream (one part at a time, as it uploads). Ours: the state machine run by the local runner ' +
      '(real ASL, real handlers; Prepare, UploadBatch Map, HashObject loop, Commit loop), `--concurrency 8`. Times from the start of the call to the committed file. ' +
      e2ePlanText([...new Set(r.e2e.map((x) => x.size))], o.partSize),
  );
  out.push('');
  const e2eRows: (string | number)[][] = [];
  for (const size of [...new Set(r.e2e.map((x) => x.size))]) {
    const sdk = r.e2e.filter((x) => x.size === size && x.who === 'sdk');
    const ours = r.e2e.filter((x) => x.size === size && x.who === 'pipeline');
    const sdkMs = median(sdk.map((x) => x.ms));
    const ourMs = median(ours.map((x) => x.ms));
    for (const [label, runs] of [
      ['box-node-sdk uploadBigFile <- S3 stream', sdk],
      ['s3-to-box state machine, concurrency 8', ours],
    ] as const) {
      const ms = median(runs.map((x) => x.ms));
      e2eRows.push([
        sizeLabel(size),
        label,
        runs.length,
        fixed(ms / 1000, 2),
        runs.length > 1 ? range(runs.map((x) => x.ms / 1000), 2) : '',
        fixed(mibPerSecond(size, ms)),
        label.startsWith('s3-to-box') ? `**${fixed(sdkMs / ourMs, 2)}x**${perRunRatios(r.e2e, size)}` : '1.00x',
        fixed(median(runs.map((x) => x.cpuMs)) / 1000, 2),
        fixed(median(runs.map((x) => x.otherCores)), 2),
        mib(median(runs.map((x) => x.rssBytes))),
      ]);
    }
  }
  out.push(table(['object', 'uploader', 'runs', 'seconds (median)', 'min–max', 'MiB/s', 'x SDK', 'CPU s of the uploader process', 'other load (cores)', 'peak RSS'], e2eRows));
  out.push('');
  out.push('x SDK: the SDK\'s median time over ours; with more than one run each, in brackets each run\'s ratio (the SDK and ours run one after the other, the order swapped every run).');
  out.push('');

  // Sweep
  const oSweep = oOf('sweep');
  // The cores of the machine that measured it (an earlier run's may differ).
  const sweepCores = r.earlier?.sweep?.machine.cores ?? r.machine.cores;
  out.push(...renderSweep(r.sweep, { bandwidth: oSweep.bandwidth, latencyMs: oSweep.latencyMs, partSize: oSweep.partSize }, sweepCores, from('sweep')));
  out.push('');

  // CPU per GiB
  const cpuSizesShown = [...new Set(r.cpu.map((x) => x.size))].sort((x, y) => x - y);
  out.push(`### CPU per GiB of the runner process (pipeline on loopback, ${(cpuSizesShown.length > 0 ? cpuSizesShown : [oOf('cpu').big]).map(sizeLabel).join(' and ')}, concurrency 8; judged without the profiler, broken down under \`node --cpu-prof\`)`);
  out.push('');
  out.push(...from('cpu'));
  out.push(...renderCpu(r.cpu));
  for (const size of cpuSizesShown) {
    const before = r.cpu.find((x) => x.checkout === 'before' && x.size === size);
    const now = r.cpu.find((x) => x.checkout === 'this' && x.size === size);
    if (before !== undefined && now !== undefined) out.push(`${cpuChangeReading(before, now)}`, '');
  }
  out.push(renderBeforeIssue(r.cpu), '');

  // Hash
  out.push('### Whole-file hash: the HashObject path against a raw read of the same object (same s3rver, same run)');
  out.push('');
  out.push(...from('hash'));
  out.push(
    'Raw read: one GetObject stream through the AWS SDK, read and dropped (as a program reads an S3 object). HashObject path: `hashSlice` with the Lambda defaults and 15 minutes left: ranged GETs of 16 MiB through the lean reader (src/transfer/leanGet.ts: a plain keep-alive socket read into one reused buffer, the SDK only for what it does not serve), read at once, as many as its thread waits on: it starts with one and opens more, up to 8, while its event loop sits idle more than 15 % of a 50 ms window, and undoes an opening that did not raise the bytes received per second; the ones ahead of the hash buffered and hashed in order; node:crypto since the object fits the deadline, on the reading thread. ' +
      'Raw over as many ranged streams: once per row after its pairs, the raw read over as many ranged GETs of 16 MiB as the HashObject path opened at most (in brackets), through the same lean reader, read and dropped: the like-for-like read (review S16), reported only: the target stays against one GetObject stream, as the issue words it, so its ratio shows what the hash path costs against reading the object as the SDK reads it, and this column what SHA-1 costs against the same reader. ' +
      'Each row is 3 pairs of a raw read and a HashObject path of the same object in one process, in ABBA order (raw first, then hash first, then raw first): its MiB/s are the medians, "x raw read" is the ratio of the medians, "per pair" the range of the pairs\' own ratios (rows of earlier runs: one raw read taken first, one HashObject path, no pairs). ' +
      'A function of one vCPU runs pinned to one core (`taskset -c 1`; rows marked "not pinned" are of earlier runs, which could borrow the second core); s3rver (the bench\'s own process) is not pinned. ' +
      'Resumable: the same object in four slices through saved hash-wasm states, as an object that must cross invocations hashes. ' +
      'Process: "Lambda (exec wrapper)" starts the child as Lambda starts the HashObject function: the Node.js runtime\'s heap options for its memory (local/lambda/runtime.ts), through the exec wrapper serverless.yml gives it (functions/exec-wrapper.sh, which adds `--initial-heap-size=128`); the target is judged on these rows. "Lambda without the wrapper" is the same start without the exec wrapper. ' +
      'CPU-s per GiB: the child\'s CPU time for reading alone and for the HashObject path (what a busy machine inflates least).',
  );
  out.push('');
  const cpuPerGiB = (x: number | undefined): string => (x === undefined ? 'n/a' : fixed(x, 2));
  out.push(
    table(
      ['CPU', 'date', 'process', 'object', 'raw read MiB/s', 'HashObject path MiB/s', 'x raw read', 'per pair', 'ranges in flight (most)', 'raw over as many ranged streams, the same lean reader, MiB/s (not judged)', 'CPU-s per GiB raw / HashObject', 'resumable (hash-wasm) MiB/s', 'node:crypto on one stream MiB/s', 'other load'],
      hashHistory.map((h) => [
        h.cpu,
        h.date,
        hashProcessLabel(h),
        sizeLabel(h.size),
        fixed(h.readOnlyMiBs),
        fixed(h.hashObjectMiBs),
        `**${fixed(h.hashObjectMiBs / h.readOnlyMiBs, 2)}x**`,
        h.pairs === undefined ? 'n/a' : range(pairRatios(h), 2, 'x'),
        h.pairs === undefined ? '8 (fixed)' : range(h.pairs.map((p) => p.hashRanges), 0),
        h.rangedReadMiBs === undefined ? 'n/a' : `${fixed(h.rangedReadMiBs)} (${h.rangedStreams ?? '?'})`,
        `${cpuPerGiB(h.readOnlyCpuPerGiB)} / ${cpuPerGiB(h.hashObjectCpuPerGiB)}`,
        fixed(h.resumableMiBs),
        fixed(h.nodeStreamMiBs),
        fixed(h.otherCores, 2),
      ]),
    ),
  );
  out.push('');
  out.push(hashHistoryNote(hashHistory));
  out.push('');
  out.push(renderShapedHash(r.hash));
  out.push('');

  // CLI
  out.push(withEarlierLine(renderCli(r.cli), from('cli')));
  out.push('');

  // Bundles
  out.push('### Lambda bundles (esbuild with serverless.yml\'s options; import time of the bundle in a fresh Node process started as Lambda starts the function\'s)');
  out.push('');
  out.push(...from('bundles'));
  const fns = [...new Set(r.bundles.map((b) => b.fn))];
  out.push(
    table(
      ['function', ...VARIANTS.map((v) => `${v.label}: KiB code / KiB map / import ms (CPU ms)`)],
      fns.map((fn) => [
        fn,
        ...VARIANTS.map((v) => {
          const b = r.bundles.find((x) => x.fn === fn && x.variant === v.key);
          return b ? `${fixed(b.bytes / 1024, 0)} / ${fixed(b.mapBytes / 1024, 0)} / ${fixed(b.loadMs, 0)} (${fixed(b.loadCpuMs, 0)})` : '';
        }),
      ]),
    ),
  );
  out.push('');
  const sum = (variant: string, f: (b: BundleRow) => number): number => r.bundles.filter((b) => b.variant === variant).reduce((n, b) => n + f(b), 0);
  out.push(
    `Summed over the functions: not minified with maps ${fixed(sum('plain-map', (b) => b.loadCpuMs), 0)} CPU ms to import, minified with maps ${fixed(sum('min-map', (b) => b.loadCpuMs), 0)}, minified without ${fixed(sum('min', (b) => b.loadCpuMs), 0)}; ` +
      `maps add ${fixed(sum('min-map', (b) => b.mapBytes) / sum('min-map', (b) => b.bytes), 1)}x the code's bytes. serverless.yml ships minified bundles without source maps (medians of ${oOf('bundles').bundleRuns} imports each, --enable-source-maps set when maps are shipped).`,
  );
  out.push('');

  // Tracing
  if (r.tracing !== undefined) {
    out.push(withEarlierLine(renderTracing(r.tracing), from('tracing')));
    out.push('');
  }

  // Memory
  const oMemory = oOf('memory');
  out.push(`### Memory of one UploadBatch invocation (the shipped bundle, run once in a fresh Node process started as Lambda starts it: the runtime's heap options for its memory, through its exec wrapper; the session opened beforehand; the emulator on the shaped link, ${mib(oMemory.bandwidth)}/s per connection and +${oMemory.latencyMs} ms per request, so that a part's PUT lasts as it would against Box)`);
  out.push('');
  out.push(...from('memory'));
  out.push(
    table(
      ['part size', 'parts in flight', 'at once at the emulator (max)', 'parts', 'RSS after the import', 'peak RSS', 'bound 2 x part x in flight + 120 MiB', 'within', 'peak ArrayBuffers', 'other load'],
      r.batches.map((b) => [
        mib(b.partSize),
        b.partsInFlight,
        b.maxPartsInFlight === b.partsInFlight ? b.maxPartsInFlight : `**${b.maxPartsInFlight}**`,
        b.parts,
        mib(b.idleRssBytes),
        mib(b.rssBytes),
        mib(b.boundBytes),
        b.rssBytes <= b.boundBytes ? 'yes' : '**no**',
        mib(b.arrayBuffersBytes),
        fixed(b.otherCores, 2),
      ]),
    ),
  );
  out.push('');
  out.push(
    '"At once at the emulator": the most part PUTs the Box emulator was serving at the same time during the invocation, the parts really in flight; a row counts toward the target only when it equals the configured number. ' +
      '"Other load" excludes the bench\'s own processes: the servers and the UploadBatch child.',
  );
  out.push('');
  if (r.huge !== undefined || r.demo !== undefined) {
    out.push(...from('huge'));
    out.push(renderBigPipeline(r.huge, r.demo));
    out.push('');
  }

  // Cost
  const costRun = r.e2e.filter((x) => x.who === 'pipeline' && x.counts !== undefined).sort((a, b) => b.size - a.size)[0];
  if (costRun?.counts !== undefined) {
    // The counts are the end-to-end run's: the cost model comes from the run that measured it.
    out.push(withEarlierLine(renderCost(costRun, r.lambdas, r.tracing), from('e2e')));
    out.push('');
  }
  out.push(END);
  return out.join('\n');
}

/** The big object's memory: the whole local pipeline as a user runs it (the target), and the runner process alone. */
export function renderBigPipeline(runner: E2eRun | undefined, demo: DemoRun | undefined): string {
  const out: string[] = [];
  if (demo !== undefined) {
    out.push(
      `**The whole local pipeline as a user runs it:** \`s3-to-box demo --size ${sizeLabel(demo.size)} --json\` (what \`npm start -- --size ${sizeLabel(demo.size).replace(' ', '')}\` runs) in a child process of its own, in which s3rver, the Box emulator and the runner (the state machine and every Lambda) all run: ` +
        `it generated the object into s3rver, moved it through the state machine (concurrency 8, loopback), downloaded it back and compared its SHA-1, in ${fixed(demo.ms / 1000, 1)} s and ${fixed(demo.cpuMs / 1000, 1)} CPU-s, ` +
        `with a peak RSS of **${mib(demo.rssBytes)}** (target: under 1 GiB; the servers keep their data on disk); other load ${fixed(demo.otherCores, 2)} cores.`,
    );
  }
  if (runner !== undefined) {
    out.push(
      `${demo === undefined ? 'The' : 'Measured apart, the'} runner process alone (the state machine and every Lambda; s3rver and the emulator in the bench's process, not counted) moved ${sizeLabel(runner.size)} in ${fixed(runner.ms / 1000, 1)} s with a peak RSS of ${mib(runner.rssBytes)}` +
        `${demo === undefined ? ': the whole pipeline was not measured in this run.' : '.'}`,
    );
  }
  return out.join(' ');
}

/** A subsection (its heading, a blank line, its body) with the earlier-run line, if any, under its heading. */
function withEarlierLine(subsection: string, line: string[]): string {
  if (line.length === 0) return subsection;
  const [heading, ...rest] = subsection.split('\n');
  return [heading, '', ...line, ...rest.slice(rest[0] === '' ? 1 : 0)].join('\n');
}

/** The CLI's subsection: warm and cold starts per checkout. */
export function renderCli(cli: CliRun[]): string {
  const out: string[] = [];
  out.push('### CLI: `node bin/s3-to-box.js transfer ...` to its first Box request');
  out.push('');
  const cliRows = (['before', 'this'] as const).flatMap((k) =>
    (['warm', 'cold'] as const)
      .map((cache) => [cache, cli.filter((x) => x.checkout === k && x.cache === cache)] as const)
      .filter(([, runs]) => runs.length > 0)
      .map(([cache, runs]) => [
        k === 'this' ? 'this one' : 'before',
        cache === 'warm' ? 'warm (caches filled)' : 'cold (empty caches)',
        runs.length,
        fixed(median(runs.map((x) => x.firstRequestMs)), 0),
        `${fixed(Math.min(...runs.map((x) => x.firstRequestMs)), 0)}–${fixed(Math.max(...runs.map((x) => x.firstRequestMs)), 0)}`,
        fixed(median(runs.map((x) => x.firstRequestCpuMs)), 0),
      ]),
  );
  out.push(table(['checkout', 'start', 'runs', 'wall ms to first Box request (median)', 'min–max', 'CPU ms of the CLI process by then (median)'], cliRows));
  out.push('');
  out.push(
    'Against s3rver and the emulator on loopback, a 21,000,000-byte object. Each checkout first ran once untimed, so the warm runs find the caches a start keeps (Node\'s compile cache, and the stripped TypeScript of a checkout that keeps it: bin/ts-cache.js), as every start after a user\'s first does. ' +
      'Each warm run is followed by a cold one, a user\'s first start: both caches in empty folders of its own (`NODE_COMPILE_CACHE`, `S3_TO_BOX_TS_CACHE_DIR`); the operating system\'s file cache stays warm. ' +
      'The CPU column (from /proc, 10 ms ticks) is what the machine\'s load does not inflate: on an idle machine the wall time is close to it.',
  );
  return out.join('\n');
}

/** The cost model's subsection: the run's counts, the formula, the table and what dominates. */
export function renderCost(costRun: E2eRun, lambdas: Record<string, FunctionSize>, tracing: TracingResults | undefined): string {
  const c = costRun.counts;
  if (c === undefined) return '';
  const out: string[] = [];
  const observed = tracing === undefined ? undefined : observedOf(tracing);
  const states = Object.keys(c.invocations);
  out.push(`### Cost model (from the counts of the ${sizeLabel(costRun.size)} end-to-end run above)`);
  out.push('');
  out.push(
    `Measured in that run: ${c.transitions} state transitions; invocations ${Object.entries(c.invocations).map(([s, v]) => `${s} ${v.count} (${fixed(v.ms / 1000, 1)} s)`).join(', ')}; ` +
      `S3 requests ${Object.entries(c.s3Requests).map(([k, v]) => `${k} ${v}`).join(', ')}; hash engine ${c.hashEngine ?? 'n/a'}.` +
      (observed === undefined
        ? ''
        : ` Per invocation, tracing on, at log level ${tracing?.logLevel} (the X-Ray tracing rows above): ${states
            .map((s) => {
              const x = observed.byState[s];
              return x === undefined ? `${s} not measured` : `${s} ${fixed(x.logBytes, 0)} log bytes in ${fixed(x.logLines, 0)} line${x.logLines === 1 ? '' : 's'}, a ${fixed(x.handlerBytes, 0)}-byte handler segment document`;
            })
            .join('; ')}; ${fixed(observed.s3CallBytes, 0)} bytes per S3 request's document, ${fixed(observed.partUploadBytes, 0)} per part upload's; ${costRun.parts ?? 'an unknown number of'} parts.`),
  );
  out.push('');
  out.push(
    'Counts per object of G GB, from the code, not scaled from that run: the part size the Box emulator hands out at that size (the smallest power of two from 8 MiB that keeps 10,000 parts or fewer; Box documents no rule), ' +
      `the batches (UploadBatch invocations) planBatches makes of those parts with the deployed settings at the default concurrency (${DEFAULT_SETTINGS.defaultConcurrency}; at most ${DEFAULT_SETTINGS.maxBatches}), ` +
      `and the HashObject invocations at an assumed rate in AWS: min(${HASH_IN_AWS.s3BytesPerSecondPerConnection / 1e6} MB/s per S3 connection, S3's documented figure, x ${DEFAULT_SETTINGS.hashRangesInFlight} ranged GETs in flight; SHA-1 on one vCPU with the hasher the code picks: node:crypto at ${HASH_IN_AWS.nodeCryptoBytesPerSecond / 1e6} MB/s when the object fits in half an invocation at that rate, else hash-wasm, whose state can be saved, at ${HASH_IN_AWS.hashWasmBytesPerSecond / 1e6} MB/s; both a little under this machine's pinned rows of the hash table, Lambda's arm64 core assumed as fast), ${HASH_IN_AWS.invocationSeconds} s of hashing per invocation. ` +
      'From the run: the states entered per batch and per hash slice, the other states and Prepare/Commit per transfer, UploadBatch\'s duration per byte (bound by the link to Box); HashObject\'s duration is the bytes at the assumed rate; S3 requests are one GET per part and per hash range (of ' +
      `${sizeLabel(DEFAULT_SETTINGS.hashRangeBytes)}) plus the run's other requests. ` +
      `cost = transitions x $${price(PRICES.transition)} + Σ(duration s x memory GB x the function's architecture's GB-second price: arm64 $${price(PRICES.lambdaGbSecond.arm64)}, x86_64 $${price(PRICES.lambdaGbSecond.x86_64)}) + invocations x $${price(PRICES.lambdaRequest)} + S3 requests x $${price(PRICES.s3Get)} + G x $${price(PRICES.dataOutPerGB)} (data out to the internet)` +
      ` + log GB x ($${price(PRICES.logsIngestedPerGB)} ingested + $${price(PRICES.logsStoredPerGBMonth)} for the month stored) + 1 trace x $${price(PRICES.xrayTraceRecorded)}; ` +
      `log bytes = Σ invocations x (the bytes the function writes per invocation, measured + ${PLATFORM_LOG_BYTES} bytes of Lambda's START, END and REPORT lines). ` +
      'X-Ray bills traces, not segments: Step Functions traces the execution and the Lambdas it invokes add their segments to that one trace (counted for every transfer: X-Ray\'s default sampling rule records the first execution each second and 5 % of the rest, so this is the most it costs). The state machine logs at ERROR without execution data, so a successful transfer adds nothing to its log group. ' +
      `${PRICE_SOURCE}. Lambda memory and architecture as in serverless.yml (${states.map((s) => `${s} ${sizeOf(lambdas, s).memoryMb} MB ${sizeOf(lambdas, s).architecture}`).join(', ')}). ` +
      'Durations are local ones on the shaped link (all Lambdas sharing the machine\'s cores in one process): Lambda durations in AWS follow Box\'s real throughput per connection. S3 reads inside the region cost no transfer.',
  );
  out.push('');
  const lines = costModel(costRun, [10, 100, 500], lambdas, observed);
  const measured = (x: number | undefined, f: (v: number) => string): string => (x === undefined ? 'not measured' : f(x));
  out.push(
    table(
      ['object', 'parts (part size)', 'batches', 'hash invocations', 'transitions', 'invocations', 'Lambda GB-s', 'S3 requests', 'log MB', 'trace data KiB', 'Step Functions', 'Lambda', 'S3 requests $', 'data out', 'CloudWatch Logs', 'X-Ray', 'total'],
      lines.map((l) => [
        `${l.gb} GB`,
        `${l.planned.parts} (${sizeLabel(l.planned.partSize)})`,
        l.planned.batches,
        `${l.planned.hashSlices} (${l.planned.hashEngine})`,
        fixed(l.transitions, 0),
        fixed(l.invocations, 0),
        fixed(l.gbSeconds, 0),
        fixed(l.s3Requests, 0),
        measured(l.logBytes, (v) => fixed(v / 1e6, 2)),
        measured(l.traceBytes, (v) => fixed(v / 1024, 0)),
        dollars(l.dollars.transitions),
        dollars(l.dollars.lambda),
        dollars(l.dollars.s3),
        dollars(l.dollars.dataOut),
        measured(l.dollars.logs, dollars),
        measured(l.dollars.xray, dollars),
        `**${dollars(l.dollars.total)}**`,
      ]),
    ),
  );
  out.push('');
  const last = lines[lines.length - 1];
  if (last !== undefined) {
    const frozen = lines.filter((l) => (l.traceBytes ?? 0) > XRAY_GUARANTEED_TRACE_BYTES).map((l) => `${l.gb} GB`);
    out.push(
      `Data sent out to Box dominates (${fixed((100 * last.dollars.dataOut) / last.dollars.total, 0)} % at ${last.gb} GB); Lambda durations come next, Step Functions and S3 requests are cents` +
        (last.dollars.logs === undefined
          ? '. CloudWatch Logs and X-Ray were not measured in this run (the tracing measurement gives their bytes).'
          : `, CloudWatch Logs ${dollars(last.dollars.logs)} and X-Ray ${dollars(last.dollars.xray ?? 0)} less still. ` +
            `X-Ray guarantees a Step Functions trace ${XRAY_GUARANTEED_TRACE_BYTES / 1024} KiB of data; more may leave it frozen (incomplete): ` +
            (frozen.length === 0
              ? 'no size here goes past it.'
              : `the functions' own segment documents (the trace data column) pass it at ${frozen.join(', ')} (Lambda's and Step Functions' own segments come on top).`)),
    );
  }
  return out.join('\n');
}

export type Verdict = 'met' | 'not met' | 'not measured';

/** One of the issue's targets against this run's numbers. */
export interface TargetRow {
  key: 'e2e' | 'cpu' | 'hash' | 'cli' | 'memory' | 'huge';
  target: string;
  measured: string;
  verdict: Verdict;
}

/** A verdict from a number: anything not finite (NaN, a missing measurement, x/0) was not measured, never met. */
function judge(value: number, ok: (x: number) => boolean): Verdict {
  return !Number.isFinite(value) ? 'not measured' : ok(value) ? 'met' : 'not met';
}

/** Each run's SDK-over-ours ratio at one size, as ' (a, b, c)'; nothing for a single run. */
function perRunRatios(runs: E2eRun[], size: number): string {
  const ratios = e2eRatio(runs.filter((x) => x.size === size)).perRun;
  return ratios.length > 1 ? ` (${ratios.map((x) => `${fixed(x, 2)}x`).join(', ')})` : '';
}

/** End to end at the biggest size: SDK time over ours, of the medians, and per run (rep with rep). */
export function e2eRatio(runs: E2eRun[]): { size: number; median: number; perRun: number[]; runs: number } {
  const size = Math.max(0, ...runs.map((x) => x.size));
  const sdk = runs.filter((x) => x.size === size && x.who === 'sdk');
  const ours = runs.filter((x) => x.size === size && x.who === 'pipeline');
  const perRun = sdk.flatMap((a) => ours.filter((b) => b.rep === a.rep).map((b) => a.ms / b.ms));
  return { size, median: median(sdk.map((x) => x.ms)) / median(ours.map((x) => x.ms)), perRun, runs: Math.min(sdk.length, ours.length) };
}

/** The issue's targets against this run's numbers: met or not, with the number. */
export function targetVerdicts(r: SpeedResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const e2e = e2eRatio(r.e2e);
  const atLeast5 = e2e.perRun.filter((x) => x >= 5).length;
  rows.push({
    key: 'e2e',
    target: `end to end, ${e2e.size > 0 ? sizeLabel(e2e.size) : '1 GiB'}, shaped link: >= 5x the SDK`,
    measured: !Number.isFinite(e2e.median)
      ? 'n/a'
      : e2e.runs === 1
        ? `${fixed(e2e.median, 2)}x (one run each)`
        : `${fixed(e2e.median, 2)}x (median of ${e2e.runs} runs each; per run ${range(e2e.perRun, 2, 'x')}, ${atLeast5} of ${e2e.perRun.length} at 5x or more)`,
    verdict: judge(e2e.median, (x) => x >= 5),
  });
  const cpu = cpuTarget(r.cpu);
  rows.push({ key: 'cpu', target: `CPU per GiB of the runner process: <= ${CPU_PER_GIB_TARGET} CPU-s (at every size measured)`, measured: cpu.measured, verdict: judge(cpu.value, (x) => x <= CPU_PER_GIB_TARGET) });
  const lambdaRows = r.hash.filter((h) => h.process === 'lambda');
  const hash = hashRatio(lambdaRows);
  const unwrapped = r.hash.filter((h) => h.process === 'lambda-no-wrapper');
  rows.push({
    key: 'hash',
    target: 'HashObject path: >= 0.8x the raw read (as the Lambda starts, exec wrapper included)',
    measured:
      `${fixed(hash.ratio, 2)}x${hash.pairs > 0 ? ` (ratio of the medians of ${hash.pairs} raw/hash pairs; per pair ${range(hash.perPair, 2, 'x')})` : ''}` +
      `${unwrapped.length > 0 ? ` (without the wrapper: ${fixed(hashRatio(unwrapped).ratio, 2)}x)` : ''}`,
    verdict: judge(hash.ratio, (x) => x >= 0.8),
  });
  const cli = r.cli.filter((x) => x.checkout === 'this' && x.cache === 'warm');
  const cliMs = median(cli.map((x) => x.firstRequestMs));
  const cliCpu = median(cli.map((x) => x.firstRequestCpuMs));
  const cliCold = r.cli.filter((x) => x.checkout === 'this' && x.cache === 'cold');
  const coldMs = median(cliCold.map((x) => x.firstRequestMs));
  rows.push({
    key: 'cli',
    target: 'CLI to the first Box request: < 1 s (warm; and cold, a first start)',
    measured: `${cli.length === 0 ? 'n/a' : `${fixed(cliMs, 0)} ms wall, ${fixed(cliCpu, 0)} ms CPU`}${cliCold.length > 0 ? `; cold ${fixed(coldMs, 0)} ms wall, ${fixed(median(cliCold.map((x) => x.firstRequestCpuMs)), 0)} ms CPU` : ''}`,
    // With cold starts measured, both must be under 1 s (the slower decides; a NaN in either is not measured).
    verdict: judge(cliCold.length === 0 ? cliMs : Math.max(cliMs, coldMs), (x) => x < 1000),
  });
  rows.push({ key: 'memory', target: 'UploadBatch peak RSS <= 2 x part x in flight + 120 MiB, with that many parts in flight', ...memoryVerdict(r.batches) });
  rows.push({
    key: 'huge',
    target: `whole local pipeline, ${sizeLabel(r.demo?.size ?? r.huge?.size ?? 4 * GiB)}: < 1 GiB RSS (\`s3-to-box demo\`: s3rver, emulator and runner in one process)`,
    measured: `${r.demo === undefined ? 'n/a' : mib(r.demo.rssBytes)}${r.huge === undefined ? '' : ` (the runner process alone: ${mib(r.huge.rssBytes)})`}`,
    verdict: judge(r.demo?.rssBytes ?? Number.NaN, (x) => x < GiB),
  });
  return rows;
}

/**
 * The UploadBatch memory rows: met only when every row is within its bound and the emulator saw exactly the
 * configured parts in flight at once (fewer would make the bound easy: the rows did not measure what they
 * name; more would break the bound's premise).
 */
function memoryVerdict(batches: BatchRun[]): { measured: string; verdict: Verdict } {
  if (batches.length === 0) return { measured: 'n/a', verdict: 'not measured' };
  const within = batches.filter((b) => b.rssBytes <= b.boundBytes).length;
  const reached = batches.filter((b) => b.maxPartsInFlight === b.partsInFlight).length;
  const measured = `${within} of ${batches.length} within; ${reached} of ${batches.length} with the configured parts in flight at once`;
  const unmeasured = batches.some((b) => !Number.isFinite(b.rssBytes) || !Number.isFinite(b.maxPartsInFlight));
  const notMet = batches.some((b) => b.rssBytes > b.boundBytes || b.maxPartsInFlight > b.partsInFlight);
  const fewer = batches.some((b) => b.maxPartsInFlight < b.partsInFlight);
  return { measured, verdict: notMet ? 'not met' : unmeasured || fewer ? 'not measured' : 'met' };
}

function targetsSummary(r: SpeedResults): string {
  const shown = (v: Verdict): string => (v === 'not met' ? '**not met**' : v);
  const targets = targetVerdicts(r);
  const runOf = (t: TargetRow): RunInfo | undefined => r.earlier?.[t.key];
  if (!targets.some((t) => runOf(t) !== undefined)) {
    const rows = targets.map((t) => [t.target, t.measured, shown(t.verdict)]);
    return `**Targets in this run** (other load on the machine shown per measurement below):\n\n${table(['target', 'measured', 'verdict'], rows)}`;
  }
  const rows = targets.map((t) => {
    const run = runOf(t);
    return [t.target, t.measured, shown(t.verdict), run === undefined ? 'this run' : `earlier run, ${run.date}`];
  });
  return `**Targets** (a row measured in an earlier run says which; other load on the machine shown per measurement below):\n\n${table(['target', 'measured', 'verdict', 'measured in'], rows)}`;
}

/**
 * The hash table's rows: this run's rows replace the earlier rows of the same CPU model and process (the last
 * run of each is kept); every other row stays, and a run that does not measure the hash keeps them all.
 */
export function hashHistory(previous: HashRow[], measured: HashRow[]): HashRow[] {
  // By the way the child was started, not its label (which also names the memory and the SHA-1 thread).
  const key = (h: HashRow): string => `${h.cpu}\n${h.process ?? (h.runnerFlags === true ? 'runner flags' : 'no V8 flags')}`;
  const replaced = new Set(measured.map(key));
  return [...previous.filter((h) => !replaced.has(key(h))), ...measured];
}

/** What the hash table's rows are: which runs, which CPU models. */
export function hashHistoryNote(rows: HashRow[]): string {
  const cpus = [...new Set(rows.map((h) => h.cpu))];
  return (
    'Rows (bench/hash-by-cpu.json): each run that measures the hash and writes BENCHMARKS.md (a full run, or one of some sections, hash among them; never --quick) replaces the rows of its CPU model and process with its own; rows of other CPU models, and of processes that run did not measure, are kept. ' +
    (cpus.length === 0
      ? 'No CPU model has rows yet.'
      : cpus.length === 1
        ? `Only one CPU model has run it so far: ${cpus[0]}.`
        : `CPU models that have run it: ${cpus.join(', ')}.`) +
    (cpus.some((c) => /xeon/i.test(c)) ? '' : ' The issue\'s Intel Xeon figures (248 against 547 MiB/s) come from an earlier form of this bench and are not a row.')
  );
}

// --- main -----------------------------------------------------------------------------------------

async function cpuModel(): Promise<string> {
  try {
    const out = execFileSync('lscpu', [], { encoding: 'utf8' });
    return /^Model name:\s*(.+)$/m.exec(out)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

/** A file's text, or undefined when there is no such file (any other error is thrown). */
async function readIfThere(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

export async function runSpeed(argv: string[]): Promise<void> {
  const o = options(argv);
  const started = Date.now();
  const cpu = await cpuModel();
  const machine = { cpu, cores: os.availableParallelism(), memoryBytes: os.totalmem(), node: process.version, loadStart: os.loadavg(), loadEnd: [] as number[], date: new Date().toISOString() };
  log(`s3-to-box speed bench: ${cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadStart.map((x) => x.toFixed(1)).join(' ')}`);
  const dataRoot = await mkdtemp(path.join('/dev/shm', 's3-to-box-speed-'));
  const s3 = await startLocalS3({ buckets: ['speed'], dir: path.join(dataRoot, 's3rver') });
  const env: Env = { s3, bucket: 'speed', objects: new Map(), dataRoot };
  // The section is written again after each measurement, so that a run cut short keeps what it measured
  // (the measurements not reached yet show as not measured).
  const results: SpeedResults = { options: o, machine, e2e: [], sweep: [], cpu: [], hash: [], cli: [], bundles: [], tracing: undefined, lambdas: await lambdaSizeByState(), batches: [], huge: undefined, seconds: 0 };
  const previous = JSON.parse(await readFile(HASH_BY_CPU, 'utf8').catch(() => '[]')) as HashRow[];
  const record = parseRecord(await readIfThere(RECORD), RECORD);
  // A run of some parts only writes BENCHMARKS.md when the record holds every other part (shown from it,
  // each under a line naming its run); otherwise only with --out. The record and the hash history follow
  // BENCHMARKS.md: written with it, never by a smoke run.
  const unrecorded = notRecorded(o.sections, record);
  const out = unrecorded.length > 0 && !o.outGiven ? undefined : o.out;
  if (o.out !== undefined && out === undefined) {
    log(`  not writing ${path.relative(process.cwd(), o.out) || o.out}: this run does not measure ${unrecorded.join(', ')} and ${path.relative(ROOT, RECORD)} holds no earlier run of them (--out FILE writes anyway)`);
  }
  const keepsRecord = out === BENCHMARKS && !o.quick;
  const measured = new Set<Section>();
  const save = async (final: boolean): Promise<void> => {
    machine.loadEnd = os.loadavg();
    results.seconds = (Date.now() - started) / 1000;
    const history = hashHistory(previous, results.hash);
    const section = renderSpeed(withEarlier(results, measured, record), history, final);
    if (final) {
      await writeFile(path.join(os.tmpdir(), 's3-to-box-speed-results.json'), JSON.stringify({ ...results, options: { ...o, sections: [...o.sections] } }));
      process.stdout.write(`\n${section}\n`);
    }
    if (out !== undefined) {
      if (keepsRecord) {
        // The per-CPU history keeps full runs only: a smoke run's rows (smaller object, one run) would replace them.
        if (results.hash.length > 0) await writeFile(HASH_BY_CPU, `${JSON.stringify(history, null, 1)}\n`);
        await writeFile(RECORD, `${JSON.stringify(recordRun(record, results, measured), null, 1)}\n`);
      }
      await writeSection(out, 'speed', section);
      log(`${final ? '\n' : '  '}wrote the speed section of ${path.relative(process.cwd(), out) || out}${final ? '' : ' (so far)'}${keepsRecord ? ` and ${path.relative(ROOT, RECORD)}` : ''}`);
    }
  };
  try {
    const on = (section: Section): boolean => o.sections.has(section);
    if (on('e2e')) {
      results.e2e = await endToEnd(env, o);
      measured.add('e2e');
      await save(false);
    }
    if (on('sweep')) {
      results.sweep = await sweep(env, o);
      measured.add('sweep');
      await save(false);
    }
    if (on('cpu')) {
      results.cpu = await cpuPerGiB(env, o);
      measured.add('cpu');
      await save(false);
    }
    if (on('hash')) {
      results.hash = await hashRows(env, o, cpu);
      measured.add('hash');
      await save(false);
    }
    if (on('cli')) {
      results.cli = await cliFirstRequest(env, o);
      measured.add('cli');
      await save(false);
    }
    if (on('bundles')) {
      log(`\nLambda bundles: building and importing each (${o.bundleRuns} imports per variant)`);
      results.bundles = await measureBundles(o.bundleRuns);
      measured.add('bundles');
      await save(false);
    }
    if (on('tracing')) {
      results.tracing = await tracingCost(env, o);
      measured.add('tracing');
      await save(false);
    }
    if (on('memory')) {
      results.batches = await batchMemory(env, o);
      measured.add('memory');
      await save(false);
    }
    // Free the smaller objects before the big one.
    for (const size of [...env.objects.keys()]) await dropObject(env, size);
    if (on('huge')) {
      results.huge = await hugePipeline(env, o);
      results.demo = await demoPipeline(o);
      measured.add('huge');
    }
    await save(true);
  } finally {
    await s3.close();
    await rm(dataRoot, { recursive: true, force: true });
  }
}
