// `npm run bench`: every benchmark, each writing its own section of BENCHMARKS.md as soon as it is done
// (bench/sections.ts: a bench replaces its section and leaves the others as they are), in this order:
//   speed    the whole pipeline's speed targets (bench/speed.ts);
//   bulk     many objects, `s3-to-box sync` against the official SDK one by one, and PlanSync at its manifest cap (bench/bulk.ts);
//   uploads  our uploadBigFile against the official box-node-sdk@10's, on a loopback link and a
//            WAN-like shaped link of the Box emulator; memory of each uploader at two file sizes; the
//            whole pipeline through the local runner; the resumable hash against node:crypto (below).
// `--only speed,bulk` runs some of them. Every measurement runs in its own child process
// (bench/child.ts), against a fresh emulator; the servers stay in this one. Every uploaded file is
// downloaded back and its SHA-1 compared with the source's: a mismatch stops the bench with exit 1.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BoxEmulator, BoxEmulatorOptions } from '../local/box-emulator/index.ts';
import { putGeneratedObject, startLocalS3 } from '../local/runner/index.ts';
import { downloadedSha1, writeSourceFile } from './data.ts';
import { emulatorTarget, withEmulator as withEmulatorIn } from './emulator.ts';
import type { SourceFile } from './data.ts';
import { COMMIT_202, IntegrityFailure, runChild, runMeasured, runnerNodeFlags } from './jobs.ts';
import type { Job, JobResult, Uploader } from './jobs.ts';
import { renderReport, UPLOADS_SECTION } from './report.ts';
import { endMarker, startMarker, writeSection } from './sections.ts';
import type { BenchResults, Contestant, HashRun, MachineInfo, PipelineRun, Settings, Shape, UploadRun } from './report.ts';
import { parsePositiveSize as parseSize } from '../local/cli/options.ts';
import { MiB, fixed, mib, mibPerSecond, sizeLabel } from './stats.ts';
import { parseSections } from './speed-record.ts';
import type { EmulatorTarget } from './sdk.ts';

const HELP = `npm run bench [-- options]

Runs every bench (speed, bulk, uploads, in that order); each writes its own section of BENCHMARKS.md
as soon as it is done and leaves the other sections as they are.

  --only LIST         some of the benches, comma-separated: speed, bulk, uploads
  --before DIR        speed: an earlier checkout (with node_modules) measured side by side
  --small SIZE        speed: the smaller end-to-end object (default 256MiB)
  --big SIZE          speed: the end-to-end object of the target, the concurrency sweep's,
                      CPU per GiB and the hash (default 1GiB)
  --huge SIZE         speed: the whole pipeline's memory row (default 4GiB; with --quick the
                      three default to 64MiB, 128MiB and 256MiB)
  --sections LIST     speed: some of its measurements (e2e, sweep, cpu, hash, cli, bundles,
                      tracing, memory, huge); an unknown name stops the bench before it
                      measures anything. The parts not measured are shown from the last run
                      that wrote each (bench/speed-results.json, with its command and date);
                      a part that file does not hold keeps BENCHMARKS.md as it is unless
                      --out is given. bench/speed-results.json and bench/hash-by-cpu.json are
                      written with BENCHMARKS.md only, never by --quick or another --out.
  --bulk-small N      bulk: objects of 100 KiB (default 1000)
  --bulk-big N        bulk: objects of 64 MiB (default 20)
  --skip-default-budget  bulk: leave out the row at the default upload budget (240 a minute)

The uploader comparison (uploads):
  --size SIZE         file size of the upload comparison and the pipeline (default 256MiB)
  --memory-size SIZE  the second, larger file size of the memory comparison (default 4 x --size)
  --repeat N          runs per measurement (default 3)
  --quick             --size 64MiB --repeat 1, and no report written unless --out is given
                      (a smoke run; do not quote its numbers)
  --latency-ms MS     WAN-like shape: latency added to every request (default 30)
  --bandwidth SIZE    WAN-like shape: cap per connection, per second (default 32MiB)
  --dir DIR           where source files, the emulator's and s3rver's data and downloads go
                      (default /dev/shm when it is a tmpfs with room, else the OS temp folder)
  --out FILE          where to write the report (default BENCHMARKS.md at the project root)
  --no-write          print only

--quick makes every bench a smoke run (smaller sizes, one run each) that writes nothing unless --out is given.
`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function settingsFromArgs(argv: string[]): Omit<Settings, 'workDir'> & { out: string | undefined; dir: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string' },
      'memory-size': { type: 'string' },
      repeat: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'latency-ms': { type: 'string' },
      bandwidth: { type: 'string' },
      out: { type: 'string' },
      dir: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    // The other benches' options (--only, --before, --sections, --bulk-*) pass through.
    strict: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const text = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  const size = text(values.size) !== undefined ? parseSize(text(values.size) as string) : values.quick === true ? 64 * MiB : 256 * MiB;
  const repeat = text(values.repeat) !== undefined ? Number(values.repeat) : values.quick === true ? 1 : 3;
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer, got ${values.repeat}`);
  const latencyMs = text(values['latency-ms']) !== undefined ? Number(values['latency-ms']) : 30;
  if (!(latencyMs >= 0)) throw new Error(`--latency-ms must be >= 0, got ${values['latency-ms']}`);
  if (size < 20_000_000) throw new Error('--size must be at least 20,000,000 bytes (Box chunked uploads start there)');
  return {
    size,
    memorySize: text(values['memory-size']) !== undefined ? parseSize(text(values['memory-size']) as string) : 4 * size,
    repeat,
    latencyMs,
    bandwidthBytesPerSecond: text(values.bandwidth) !== undefined ? parseSize(text(values.bandwidth) as string) : 32 * MiB,
    concurrencies: [1, 4, 8],
    hashSliceBytes: 64 * MiB,
    commit202: COMMIT_202,
    argv,
    // A smoke run (--quick) never replaces the committed report unless --out names a file.
    out: values['no-write'] === true || (values.quick === true && values.out === undefined) ? undefined : path.resolve(ROOT, text(values.out) ?? 'BENCHMARKS.md'),
    dir: text(values.dir),
  };
}

/**
 * Everything the bench writes goes to memory (tmpfs) when it can: on a shared VM disk, writeback of
 * earlier runs' bytes throttled later runs' writes and made the numbers depend on the order of runs.
 */
async function workDirFor(requested: string | undefined, needBytes: number): Promise<string> {
  if (requested !== undefined) return path.resolve(requested);
  try {
    const fs = await statfs('/dev/shm');
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize > 2 * needBytes) return '/dev/shm';
  } catch {
    // no /dev/shm here
  }
  return os.tmpdir();
}

const TMPFS_MAGIC = 0x01021994;

async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? '';
  const sdk = JSON.parse(await readFile(path.join(ROOT, 'node_modules/box-node-sdk/package.json'), 'utf8')) as { version: string };
  return {
    loadAverageAtStart: os.loadavg(),
    cpu: model,
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    shaNi: /\bsha_ni\b/.test(flags),
    date: new Date().toISOString(),
    sdkVersion: sdk.version,
  };
}

/** Fails the bench unless both the SHA-1 Box reported and the SHA-1 of the downloaded bytes are the source's. */
async function verify(what: string, target: EmulatorTarget, result: JobResult, size: number, sha1: string, scratch: string): Promise<void> {
  if (result.fileId === undefined) throw new IntegrityFailure(`${what}: no file id came back`);
  if (result.sha1 !== sha1) throw new IntegrityFailure(`${what}: Box reported SHA-1 ${result.sha1}, the source's is ${sha1}`);
  const downloaded = await downloadedSha1(target, result.fileId, size, scratch);
  if (downloaded !== sha1) throw new IntegrityFailure(`${what}: the downloaded file's SHA-1 is ${downloaded}, the source's is ${sha1}`);
}

function contestants(settings: Settings): Contestant[] {
  return [
    { key: 'sdk', label: 'box-node-sdk uploadBigFile (sequential)', uploader: 'sdk' },
    ...settings.concurrencies.map((c): Contestant => ({ key: `ours-c${c}`, label: `ours, concurrency ${c}`, uploader: 'ours', concurrency: c })),
  ];
}

let uploadCounter = 0;
/** A measurement during which other processes used this many cores is made again (at most MAX_ATTEMPTS times in all). */
const OTHER_LOAD_LIMIT = 0.5;
const MAX_ATTEMPTS = 3;
/** The measurements set aside for other load (reported as a count and listed). */
const repeatedForLoad: UploadRun[] = [];

/** A fresh emulator for each measurement (bench/emulator.ts), under dataRoot. */
function withEmulator<T>(options: BoxEmulatorOptions, use: (box: BoxEmulator) => Promise<T>): Promise<T> {
  return withEmulatorIn(dataRoot, options, use);
}

/** Where emulators and s3rver keep their data: set by main() under the work folder. */
let dataRoot = os.tmpdir();

async function measureUpload(
  emulatorOptions: BoxEmulatorOptions,
  shape: string,
  who: Contestant,
  source: SourceFile,
  rep: number,
  scratch: string,
): Promise<UploadRun> {
  for (let attempt = 1; ; attempt++) {
    const name = `bench-${shape}-${who.key}-${++uploadCounter}.bin`;
    // The parts phase, seen from the emulator: session created -> last part stored (no commit waits in it).
    const seen = { sessionAt: Number.NaN, lastPartAt: Number.NaN };
    const onRequest = (e: { operation: string | undefined; status: number }): void => {
      if (e.operation === 'createSession' && e.status === 201) seen.sessionAt = performance.now();
      else if (e.operation === 'uploadPart' && e.status === 200) seen.lastPartAt = performance.now();
    };
    const { result, serverCpuMs, otherCores, stats } = await withEmulator({ ...emulatorOptions, onRequest }, async (box) => {
      const target = emulatorTarget(box);
      const job: Job = {
        kind: 'upload',
        uploader: who.uploader,
        ...(who.concurrency !== undefined ? { concurrency: who.concurrency } : {}),
        target,
        file: source.path,
        size: source.size,
        name,
      };
      const measured = await runMeasured(job);
      const stats = box.stats();
      await verify(`${who.label} (${shape}, ${sizeLabel(source.size)}, run ${rep})`, target, measured.result, source.size, source.sha1, scratch);
      return { ...measured, stats };
    });
    const partsMs = seen.lastPartAt - seen.sessionAt;
    const run: UploadRun = {
      shape,
      contestant: who.key,
      size: source.size,
      rep,
      ms: result.ms,
      mibPerSecond: mibPerSecond(source.size, result.ms),
      partsMs,
      partsMibPerSecond: mibPerSecond(source.size, partsMs),
      memory: result.memory,
      clientCpuMs: result.cpuMs ?? Number.NaN,
      serverCpuMs,
      otherCores,
      maxPartsInFlight: stats.maxPartsInFlight,
      partRequests: stats.requests.uploadPart ?? 0,
      commitRequests: stats.requests.commit ?? 0,
    };
    const retry = otherCores >= OTHER_LOAD_LIMIT && attempt < MAX_ATTEMPTS;
    log(
      `  [${shape} ${sizeLabel(source.size)} #${rep}] ${who.label.padEnd(42)} ${fixed(run.mibPerSecond).padStart(7)} MiB/s (parts ${fixed(run.partsMibPerSecond).padStart(6)})  ` +
        `CPU s uploader ${fixed(run.clientCpuMs / 1000, 2)} emulator ${fixed(run.serverCpuMs / 1000, 2)}  other load ${fixed(run.otherCores, 2)} cores  peak RSS ${mib(run.memory.maxRssBytes)}  parts in flight <= ${run.maxPartsInFlight}  commits ${run.commitRequests}  verified` +
        (retry ? '  (other load: measured again)' : ''),
    );
    if (!retry) return run;
    repeatedForLoad.push(run);
  }
}

async function uploadComparison(settings: Settings, source: SourceFile, scratch: string): Promise<{ shapes: Shape[]; runs: UploadRun[] }> {
  const shapes: Shape[] = [
    { key: 'loopback', label: 'loopback, unshaped', latencyMs: 0 },
    {
      key: 'wan',
      label: `WAN-like: +${settings.latencyMs} ms per request, ${mib(settings.bandwidthBytesPerSecond)}/s per connection`,
      latencyMs: settings.latencyMs,
      bandwidthBytesPerSecond: settings.bandwidthBytesPerSecond,
    },
  ];
  const runs: UploadRun[] = [];
  for (const shape of shapes) {
    log(`\nupload comparison, ${shape.label}, ${sizeLabel(source.size)}, ${settings.repeat} run(s) each`);
    const options: BoxEmulatorOptions = {
      commitProcessing: settings.commit202,
      ...(shape.latencyMs > 0 ? { latencyMs: shape.latencyMs } : {}),
      ...(shape.bandwidthBytesPerSecond !== undefined ? { bandwidthBytesPerSecond: shape.bandwidthBytesPerSecond } : {}),
    };
    // Round-robin over the contestants in each repeat, so that drift of the machine hits all of them alike.
    for (let rep = 1; rep <= settings.repeat; rep++) {
      for (const who of contestants(settings)) runs.push(await measureUpload(options, shape.key, who, source, rep, scratch));
    }
  }
  return { shapes, runs };
}

async function memoryComparison(settings: Settings, big: SourceFile, scratch: string): Promise<{ idle: Record<Uploader, JobResult['memory'][]>; runs: UploadRun[] }> {
  log(`\nmemory: idle processes, then ${sizeLabel(big.size)} uploads on loopback, ${settings.repeat} run(s) each`);
  const options: BoxEmulatorOptions = { commitProcessing: settings.commit202 };
  const idle: Record<Uploader, JobResult['memory'][]> = { sdk: [], ours: [] };
  await withEmulator(options, async (box) => {
    const target = emulatorTarget(box);
    for (let rep = 1; rep <= settings.repeat; rep++) {
      for (const uploader of ['sdk', 'ours'] as const) idle[uploader].push((await runChild({ kind: 'idle', uploader, target })).memory);
    }
  });
  log(`  idle RSS: sdk ${idle.sdk.map((m) => mib(m.maxRssBytes)).join(', ')}; ours ${idle.ours.map((m) => mib(m.maxRssBytes)).join(', ')}`);
  const runs: UploadRun[] = [];
  for (let rep = 1; rep <= settings.repeat; rep++) {
    for (const who of contestants(settings)) runs.push(await measureUpload(options, 'loopback', who, big, rep, scratch));
  }
  return { idle, runs };
}

async function pipelineAndHash(settings: Settings, scratch: string): Promise<{ pipeline: PipelineRun[]; hash: HashRun[] }> {
  log(`\nwhole pipeline through the local runner (s3rver + emulator on loopback), ${sizeLabel(settings.size)}`);
  const bucket = 'bench';
  const key = 'exports/pipeline.bin';
  const s3Dir = await mkdtemp(path.join(dataRoot, 's3rver-'));
  const s3 = await startLocalS3({ buckets: [bucket], dir: s3Dir });
  const pipeline: PipelineRun[] = [];
  const hash: HashRun[] = [];
  try {
    const object = await putGeneratedObject(s3.client, { bucket, key, size: settings.size });
    for (let rep = 1; rep <= settings.repeat; rep++) {
      const { result, serverCpuMs, otherCores, stats } = await withEmulator({ commitProcessing: settings.commit202 }, async (box) => {
        const target = emulatorTarget(box);
        const measured = await runMeasured({ kind: 'pipeline', target, s3Endpoint: s3.endpoint, bucket, key, name: `pipeline-${rep}.bin`, concurrency: 8 });
        const stats = box.stats();
        await verify(`pipeline (run ${rep})`, target, measured.result, settings.size, object.sha1, scratch);
        return { ...measured, stats };
      });
      const run: PipelineRun = {
        rep,
        size: settings.size,
        ms: result.ms,
        mibPerSecond: mibPerSecond(settings.size, result.ms),
        marks: result.marks ?? {},
        parts: result.parts ?? 0,
        memory: result.memory,
        clientCpuMs: result.cpuMs ?? Number.NaN,
        serverCpuMs,
        otherCores,
        maxPartsInFlight: stats.maxPartsInFlight,
      };
      pipeline.push(run);
      log(
        `  [pipeline #${rep}] ${fixed(run.mibPerSecond)} MiB/s, ${fixed(run.ms / 1000, 2)} s; parts done at ${fixed((run.marks.partsDoneMs ?? NaN) / 1000, 2)} s, ` +
          `hash done at ${fixed((run.marks.hashDoneMs ?? NaN) / 1000, 2)} s; other load ${fixed(run.otherCores, 2)} cores; peak RSS ${mib(run.memory.maxRssBytes)}; verified`,
      );
    }

    log(`\nhashing: the HashObject code path (hashSlice) over the s3rver object, ${sizeLabel(settings.size)}`);
    for (let rep = 1; rep <= settings.repeat; rep++) {
      const { result: r, otherCores } = await runMeasured({ kind: 'hash-s3', s3Endpoint: s3.endpoint, bucket, key, pairs: 1 });
      if (r.sha1 !== object.sha1) throw new IntegrityFailure(`hash over s3rver: got ${r.sha1}, the object's SHA-1 is ${object.sha1}`);
      hash.push({ kind: 's3', rep, size: settings.size, marks: r.marks ?? {}, otherCores });
      log(
        `  [hash-s3 #${rep}] hashSlice ${fixed(mibPerSecond(settings.size, r.marks?.hashSliceMs ?? NaN))} MiB/s, ` +
          `node:crypto on one GetObject stream ${fixed(mibPerSecond(settings.size, r.marks?.nodeStreamMs ?? NaN))} MiB/s, ` +
          `read only ${fixed(mibPerSecond(settings.size, r.marks?.readOnlyMs ?? NaN))} MiB/s`,
      );
    }
  } finally {
    await s3.close();
    await rm(s3Dir, { recursive: true, force: true });
  }

  const hashBytes = settings.memorySize;
  log(`\nhashing in memory: node:crypto vs hash-wasm vs hash-wasm saved/loaded every ${sizeLabel(settings.hashSliceBytes)}, ${sizeLabel(hashBytes)}`);
  for (let rep = 1; rep <= settings.repeat; rep++) {
    const { result: r, otherCores } = await runMeasured({ kind: 'hash-cpu', size: hashBytes, sliceBytes: settings.hashSliceBytes });
    if (r.sha1 === undefined || r.sha1.startsWith('DISAGREE')) throw new IntegrityFailure(`in-memory hashes disagree: ${r.sha1}`);
    hash.push({ kind: 'cpu', rep, size: hashBytes, marks: r.marks ?? {}, otherCores });
    const m = r.marks ?? {};
    log(
      `  [hash-cpu #${rep}] node:crypto ${fixed(mibPerSecond(hashBytes, m.nodeCryptoMs ?? NaN))} MiB/s, hash-wasm ${fixed(mibPerSecond(hashBytes, m.hashWasmMs ?? NaN))} MiB/s, ` +
        `resumed x${m.reloads ?? 0} ${fixed(mibPerSecond(hashBytes, m.hashWasmResumedMs ?? NaN))} MiB/s; digests agree`,
    );
  }
  return { pipeline, hash };
}

async function uploads(argv: string[]): Promise<void> {
  const args = settingsFromArgs(argv);
  // Sources (size + memorySize), one emulator's copy and one download of the bigger file at a time.
  const workDir = await workDirFor(args.dir, args.size + 3 * args.memorySize);
  const settings = { ...args, workDir };
  const started = Date.now();
  const machine = await machineInfo();
  log(`s3-to-box bench: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  const scratch = await mkdtemp(path.join(workDir, 's3-to-box-bench-'));
  dataRoot = scratch;
  try {
    log(`writing source files (${sizeLabel(settings.size)}, ${sizeLabel(settings.memorySize)}) in ${scratch}; emulator and s3rver data go there too`);
    const source = await writeSourceFile(scratch, settings.size, `bench-${settings.size}`);
    const big = await writeSourceFile(scratch, settings.memorySize, `bench-${settings.memorySize}`);

    const upload = await uploadComparison(settings, source, scratch);
    const memory = await memoryComparison(settings, big, scratch);
    await rm(big.path, { force: true });
    const { pipeline, hash } = await pipelineAndHash(settings, scratch);

    const results: BenchResults = {
      settings,
      machine: { ...machine, loadAverageAtEnd: os.loadavg() },
      contestants: contestants(settings),
      shapes: upload.shapes,
      uploads: upload.runs,
      memory,
      pipeline,
      hash,
      repeatedForLoad,
      otherLoadLimit: OTHER_LOAD_LIMIT,
      maxAttempts: MAX_ATTEMPTS,
      totalSeconds: (Date.now() - started) / 1000,
    };
    const report = renderReport(results);
    process.stdout.write(`\n${report.text}\n`);
    if (settings.out !== undefined) {
      await writeSection(settings.out, UPLOADS_SECTION, report.markdown);
      log(`\nwrote the ${UPLOADS_SECTION} section of ${path.relative(process.cwd(), settings.out) || settings.out}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** bench/bulk.ts in a child process; its Markdown (stdout) becomes the bulk section. */
async function bulk(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, out: { type: 'string' }, 'no-write': { type: 'boolean' }, 'bulk-small': { type: 'string' }, 'bulk-big': { type: 'string' }, 'skip-default-budget': { type: 'boolean' } }, strict: false });
  const args = [
    ...(values.quick === true ? ['--quick'] : []),
    ...(typeof values['bulk-small'] === 'string' ? ['--small', values['bulk-small']] : []),
    ...(typeof values['bulk-big'] === 'string' ? ['--big', values['bulk-big']] : []),
    ...(values['skip-default-budget'] === true ? ['--skip-default-budget'] : []),
  ];
  log(`\nbulk runs: node bench/bulk.ts ${args.join(' ')}`);
  const markdown = await new Promise<string>((resolve, reject) => {
    // bench/bulk.ts keeps s3rver and the emulator; each uploader runs in a child of its own (bench/bulk-child.ts, with the runner's V8 flags).
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ...runnerNodeFlags(ROOT), path.join(ROOT, 'bench/bulk.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench/bulk.ts exited with ${code}`))));
  });
  process.stdout.write(`\n${markdown}\n`);
  const out = values['no-write'] === true || (values.quick === true && values.out === undefined) ? undefined : path.resolve(ROOT, typeof values.out === 'string' ? values.out : 'BENCHMARKS.md');
  if (out === undefined) return;
  const section = [startMarker(BULK_SECTION, 'written by npm run bench -- --only bulk'), '## Bulk runs (`s3-to-box sync`)', '', `Run by \`npm run bench\` as \`node bench/bulk.ts${args.map((a) => ` ${a}`).join('')}\`.`, '', markdown.trim(), '', endMarker(BULK_SECTION)].join('\n');
  await writeSection(out, BULK_SECTION, section);
  log(`\nwrote the ${BULK_SECTION} section of ${path.relative(process.cwd(), out) || out}`);
}

const BULK_SECTION = 'bulk';
const BENCHES = ['speed', 'bulk', 'uploads'] as const;

/** The benches --only names (all of them by default), in their fixed order. */
function benchesToRun(argv: string[]): (typeof BENCHES)[number][] {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' } }, strict: false });
  if (typeof values.only !== 'string') return [...BENCHES];
  const asked = values.only.split(',').map((x) => x.trim());
  const unknown = asked.filter((x) => !(BENCHES as readonly string[]).includes(x));
  if (unknown.length > 0) throw new Error(`--only: unknown bench ${unknown.join(', ')} (known: ${BENCHES.join(', ')})`);
  return BENCHES.filter((b) => asked.includes(b));
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const benches = benchesToRun(argv);
  // Before any bench runs: a mistyped speed part would otherwise end the bench after the others ran.
  const { values } = parseArgs({ args: argv, options: { sections: { type: 'string' } }, strict: false });
  if (typeof values.sections === 'string') parseSections(values.sections);
  for (const bench of benches) {
    const started = Date.now();
    if (bench === 'speed') await (await import('./speed.ts')).runSpeed(argv);
    else if (bench === 'bulk') await bulk(argv);
    else await uploads(argv);
    log(`\n${bench}: done in ${fixed((Date.now() - started) / 60_000, 1)} minutes`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    log(`\nBENCH FAILED: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    process.exit(1);
  },
);
