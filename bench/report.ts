// Turns the bench's measurements into the terminal tables and BENCHMARKS.md. Every sentence of the
// reading is computed from the numbers measured in this run; nothing here states a figure not measured.
import { defaultPartSize } from '../local/box-emulator/index.ts';
import type { MemoryPeaks, Uploader } from './jobs.ts';
import { benchCommand, endMarker, startMarker } from './sections.ts';
import { MiB, fixed, markdownTable, median, mib, mibPerSecond, sizeLabel, spread, textTable } from './stats.ts';

/** The engine hashSlice used in every run (it picks node:crypto when the object fits one invocation). */
function hashSliceEngine(runs: HashRun[]): string {
  const engines = new Set(runs.map((h) => (h.marks['hashSliceNodeCrypto'] === 1 ? 'node:crypto' : 'hash-wasm')));
  return [...engines].join(' / ') || 'node:crypto';
}

export interface Settings {
  size: number;
  memorySize: number;
  repeat: number;
  latencyMs: number;
  bandwidthBytesPerSecond: number;
  concurrencies: number[];
  hashSliceBytes: number;
  commit202: { mode: 'count'; times: number; retryAfterSeconds: number };
  argv: string[];
  /** Where sources, emulator and s3rver data and downloads were written. */
  workDir: string;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  platform: string;
  shaNi: boolean;
  date: string;
  sdkVersion: string;
  /** os.loadavg() (1, 5, 15 min) when the bench started and when it ended. */
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
}

export interface Contestant {
  key: string;
  label: string;
  uploader: Uploader;
  concurrency?: number;
}

export interface Shape {
  key: string;
  label: string;
  latencyMs: number;
  bandwidthBytesPerSecond?: number;
}

export interface UploadRun {
  shape: string;
  contestant: string;
  size: number;
  rep: number;
  ms: number;
  mibPerSecond: number;
  /** Session created -> last part stored, as the emulator saw it (no commit or its 202 wait). */
  partsMs: number;
  partsMibPerSecond: number;
  memory: MemoryPeaks;
  /** CPU time of the uploader process during the upload. */
  clientCpuMs: number;
  /** CPU time of the bench's main process (the emulator) while the child ran. */
  serverCpuMs: number;
  /** Cores used by other processes on the machine during the run (see load.ts). */
  otherCores: number;
  maxPartsInFlight: number;
  partRequests: number;
  commitRequests: number;
}

export interface PipelineRun {
  rep: number;
  size: number;
  ms: number;
  mibPerSecond: number;
  marks: Record<string, number>;
  parts: number;
  memory: MemoryPeaks;
  /** CPU time of the runner process (all Lambdas) during the run. */
  clientCpuMs: number;
  /** CPU time of the main process (s3rver and the emulator) while the runner ran. */
  serverCpuMs: number;
  otherCores: number;
  maxPartsInFlight: number;
}

export interface HashRun {
  kind: 's3' | 'cpu';
  rep: number;
  size: number;
  marks: Record<string, number>;
  otherCores: number;
}

export interface BenchResults {
  settings: Settings;
  machine: MachineInfo;
  contestants: Contestant[];
  shapes: Shape[];
  uploads: UploadRun[];
  /** idle: an uploader's process with its modules loaded and a client built, nothing sent (one entry per run). */
  memory: { idle: Record<Uploader, MemoryPeaks[]>; runs: UploadRun[] };
  pipeline: PipelineRun[];
  hash: HashRun[];
  /** Upload measurements set aside because other processes used >= otherLoadLimit cores; each was made again. */
  repeatedForLoad: UploadRun[];
  otherLoadLimit: number;
  maxAttempts: number;
  totalSeconds: number;
}

interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

/** CPU seconds of uploader and emulator together per wall second: near the core count means CPU-bound. */
const coresBusy = (u: { ms: number; clientCpuMs: number; serverCpuMs: number }): number => (u.clientCpuMs + u.serverCpuMs) / u.ms;
const idleRss = (r: BenchResults, uploader: Uploader): number => median(r.memory.idle[uploader].map((m) => m.maxRssBytes));
const rss = (runs: UploadRun[]): number => median(runs.map((r) => r.memory.maxRssBytes));
const arrayBuffers = (runs: UploadRun[]): number => median(runs.map((r) => r.memory.arrayBuffersBytes));

function throughputTables(r: BenchResults): Table[] {
  return r.shapes.map((shape) => {
    const sdkRuns = r.uploads.filter((u) => u.shape === shape.key && u.contestant === 'sdk');
    const sdkMedian = median(sdkRuns.map((u) => u.mibPerSecond));
    const sdkPartsMedian = median(sdkRuns.map((u) => u.partsMibPerSecond));
    return {
      title: `Upload throughput, ${shape.label}, ${sizeLabel(r.settings.size)} file, ${r.settings.repeat} run(s) each`,
      header: [
        'uploader',
        'MiB/s median (min–max)',
        'seconds (median)',
        'x SDK',
        'parts phase MiB/s median (min–max)',
        'x SDK (parts phase)',
        'CPU s uploader / emulator (median)',
        'cores busy',
        'other load (cores)',
        'peak RSS (median)',
        'parts in flight (max seen by Box)',
      ],
      rows: r.contestants.map((c) => {
        const runs = r.uploads.filter((u) => u.shape === shape.key && u.contestant === c.key);
        const speeds = runs.map((u) => u.mibPerSecond);
        return [
          c.label,
          spread(speeds),
          fixed(median(runs.map((u) => u.ms)) / 1000, 2),
          c.key === 'sdk' ? '1.00' : fixed(median(speeds) / sdkMedian, 2),
          spread(runs.map((u) => u.partsMibPerSecond)),
          c.key === 'sdk' ? '1.00' : fixed(median(runs.map((u) => u.partsMibPerSecond)) / sdkPartsMedian, 2),
          `${fixed(median(runs.map((u) => u.clientCpuMs)) / 1000, 2)} / ${fixed(median(runs.map((u) => u.serverCpuMs)) / 1000, 2)}`,
          fixed(median(runs.map(coresBusy)), 2),
          fixed(median(runs.map((u) => u.otherCores)), 2),
          mib(rss(runs)),
          String(Math.max(...runs.map((u) => u.maxPartsInFlight))),
        ];
      }),
    };
  });
}

function memoryTable(r: BenchResults): Table {
  const small = sizeLabel(r.settings.size);
  const big = sizeLabel(r.settings.memorySize);
  return {
    title: `Memory per uploader process, loopback, medians of ${r.settings.repeat} run(s) (peak RSS from getrusage; ArrayBuffers sampled every 20 ms)`,
    header: [
      'uploader',
      'idle RSS',
      `peak RSS, ${small}`,
      `peak RSS, ${big}`,
      `growth ${small} -> ${big}`,
      `peak ArrayBuffers, ${small}`,
      `peak ArrayBuffers, ${big}`,
    ],
    rows: r.contestants.map((c) => {
      const smallRuns = r.uploads.filter((u) => u.shape === 'loopback' && u.contestant === c.key);
      const bigRuns = r.memory.runs.filter((u) => u.contestant === c.key);
      return [
        c.label,
        mib(idleRss(r, c.uploader)),
        mib(rss(smallRuns)),
        mib(rss(bigRuns)),
        `${Math.round((rss(bigRuns) - rss(smallRuns)) / MiB) >= 0 ? '+' : '-'}${mib(Math.abs(Math.round((rss(bigRuns) - rss(smallRuns)) / MiB) * MiB))}`,
        mib(arrayBuffers(smallRuns)),
        mib(arrayBuffers(bigRuns)),
      ];
    }),
  };
}

function pipelineTable(r: BenchResults): Table {
  const p = r.pipeline;
  const secs = (key: string): string => spread(p.map((x) => (x.marks[key] ?? Number.NaN) / 1000), 2);
  return {
    title: `Whole pipeline (local runner: real state machine and Lambda handlers; s3rver and the emulator on loopback), ${sizeLabel(r.settings.size)}`,
    header: [
      'runs',
      'MiB/s end to end',
      'seconds',
      'Prepare done at (s)',
      'all parts stored at (s)',
      'whole-file hash done at (s)',
      'CPU s runner / servers (median)',
      'cores busy',
      'other load (cores)',
      'parts in flight (max)',
      'peak RSS (runner process)',
    ],
    rows: [
      [
        String(p.length),
        spread(p.map((x) => x.mibPerSecond)),
        spread(p.map((x) => x.ms / 1000), 2),
        secs('preparedMs'),
        secs('partsDoneMs'),
        secs('hashDoneMs'),
        `${fixed(median(p.map((x) => x.clientCpuMs)) / 1000, 2)} / ${fixed(median(p.map((x) => x.serverCpuMs)) / 1000, 2)}`,
        fixed(median(p.map(coresBusy)), 2),
        fixed(median(p.map((x) => x.otherCores)), 2),
        String(Math.max(...p.map((x) => x.maxPartsInFlight))),
        mib(median(p.map((x) => x.memory.maxRssBytes))),
      ],
    ],
  };
}

function hashTable(r: BenchResults): Table {
  const cpu = r.hash.filter((h) => h.kind === 'cpu');
  const s3 = r.hash.filter((h) => h.kind === 's3');
  const speeds = (runs: HashRun[], mark: string): string => spread(runs.map((h) => mibPerSecond(h.size, h.marks[mark] ?? Number.NaN)));
  const other = (runs: HashRun[]): string => fixed(median(runs.map((h) => h.otherCores)), 2);
  const cpuSize = sizeLabel(cpu[0]?.size ?? 0);
  const s3Size = sizeLabel(s3[0]?.size ?? 0);
  return {
    title: 'SHA-1 throughput (one thread)',
    header: ['what', 'data', 'MiB/s median (min–max)', 'other load (cores, median over the runs)'],
    rows: [
      ['node:crypto createHash("sha1"), 8 MiB updates', `${cpuSize} in memory`, speeds(cpu, 'nodeCryptoMs'), other(cpu)],
      ['hash-wasm createSHA1(), 8 MiB updates', `${cpuSize} in memory`, speeds(cpu, 'hashWasmMs'), other(cpu)],
      [`hash-wasm, state saved and loaded into a new hasher every ${sizeLabel(r.settings.hashSliceBytes)}`, `${cpuSize} in memory`, speeds(cpu, 'hashWasmResumedMs'), other(cpu)],
      [`HashObject code path: hashSlice (the Lambda defaults, ${hashSliceEngine(s3)})`, `${s3Size} from s3rver`, speeds(s3, 'hashSliceMs'), other(s3)],
      ['node:crypto over one GetObject stream', `${s3Size} from s3rver`, speeds(s3, 'nodeStreamMs'), other(s3)],
      ['one GetObject stream, read only (no hashing)', `${s3Size} from s3rver`, speeds(s3, 'readOnlyMs'), other(s3)],
    ],
  };
}

function ratioOf(r: BenchResults, shape: string, key: string, of: (u: UploadRun) => number = (u) => u.mibPerSecond): number {
  const sdk = median(r.uploads.filter((u) => u.shape === shape && u.contestant === 'sdk').map(of));
  return median(r.uploads.filter((u) => u.shape === shape && u.contestant === key).map(of)) / sdk;
}

function reading(r: BenchResults): string[] {
  const s = r.settings;
  const part = defaultPartSize(s.size);
  const partBig = defaultPartSize(s.memorySize);
  const lines: string[] = [];
  const ours = r.contestants.filter((c) => c.uploader === 'ours');
  const runsOf = (shape: string, key: string): UploadRun[] => r.uploads.filter((u) => u.shape === shape && u.contestant === key);
  const med = (runs: UploadRun[], f: (u: UploadRun) => number): number => median(runs.map(f));
  /** Fraction of one core each process was busy: its CPU seconds per wall second (one Node event loop each). */
  const busy = (runs: UploadRun[]): string =>
    `uploader ${fixed(med(runs, (u) => u.clientCpuMs / u.ms), 2)}, emulator ${fixed(med(runs, (u) => u.serverCpuMs / u.ms), 2)} of a core`;

  for (const shape of r.shapes) {
    const sdkRuns = runsOf(shape.key, 'sdk');
    const ratios = ours.map((c) => `${fixed(ratioOf(r, shape.key, c.key), 2)}x at concurrency ${c.concurrency}`).join(', ');
    const partsRatios = ours.map((c) => `${fixed(ratioOf(r, shape.key, c.key, (u) => u.partsMibPerSecond), 2)}x`).join(', ');
    lines.push(
      `**${shape.label}.** End to end (the whole \`uploadBigFile\` call, with its ${s.commit202.retryAfterSeconds} s commit wait), the SDK's median was ${fixed(med(sdkRuns, (u) => u.mibPerSecond))} MiB/s; ours ran at ${ratios} of it (ratio of medians). ` +
        `In the parts phase alone (session created to last part stored, as the emulator saw it) the SDK's median was ${fixed(med(sdkRuns, (u) => u.partsMibPerSecond))} MiB/s and ours ${partsRatios} of it. ` +
        `Busy (CPU seconds per wall second): SDK ${busy(sdkRuns)}; ${ours.map((c) => `ours at ${c.concurrency}: ${busy(runsOf(shape.key, c.key))}`).join('; ')}.`,
    );
  }
  const sdkCpu = median(r.uploads.filter((u) => u.contestant === 'sdk').map((u) => u.clientCpuMs));
  const oursCpu = median(r.uploads.filter((u) => u.contestant !== 'sdk').map((u) => u.clientCpuMs));
  lines.push(
    `**CPU per upload.** For the same ${sizeLabel(s.size)}, the SDK's process used ${fixed(sdkCpu / 1000, 2)} CPU seconds (median over both links) and ours ${fixed(oursCpu / 1000, 2)} ` +
      `(median over all concurrencies and both links): ${fixed(sdkCpu / oursCpu, 1)}x as much for the SDK. On loopback, where nothing waits on a shaped link, that extra client work is a likely part of the throughput difference (not isolated here).`,
  );

  const wan = r.shapes.find((x) => x.key === 'wan');
  if (wan?.bandwidthBytesPerSecond !== undefined) {
    const perPart = (part / wan.bandwidthBytesPerSecond) * 1000 + wan.latencyMs;
    const oneBound = (part / MiB / perPart) * 1000;
    const perC = [...r.contestants].map((c) => {
      const runs = runsOf('wan', c.key);
      const inFlight = c.concurrency ?? 1;
      const speed = med(runs, (u) => u.partsMibPerSecond);
      return `${c.key === 'sdk' ? 'SDK' : `ours at ${c.concurrency}`} ${fixed(speed)} MiB/s = ${fixed((speed / (oneBound * inFlight)) * 100, 0)} % of its bound of ${fixed(oneBound * inFlight)}`;
    });
    const saturated = r.uploads
      .filter((u) => u.shape === 'wan')
      .some((u) => u.clientCpuMs / u.ms >= 0.9 || u.serverCpuMs / u.ms >= 0.9);
    const bestLoopback = Math.max(...ours.map((c) => med(runsOf('loopback', c.key), (u) => u.partsMibPerSecond)));
    const maxC = Math.max(...ours.map((c) => c.concurrency ?? 1));
    const ceiling =
      bestLoopback < oneBound * maxC
        ? ` Without shaping, ours reached at best ${fixed(bestLoopback)} MiB/s (parts-phase median, loopback) in this run, less than the ${fixed(oneBound * maxC)} MiB/s link bound at concurrency ${maxC}: on this machine the uploader-plus-emulator pair, not the modelled link, sets the ceiling at high concurrency.`
        : '';
    lines.push(
      `On the shaped link one ${sizeLabel(part)} part takes at least ${fixed(perPart, 0)} ms (its bytes at the per-connection cap plus the added latency), ` +
        `so one part at a time is bound near ${fixed(oneBound)} MiB/s and N parts on N connections near N times that. Measured in the parts phase (medians): ${perC.join('; ')}. ` +
        (saturated
          ? 'In some runs on this link one process (uploader or emulator) was busy 90 % of a core or more, so its event loop, not the link, was the limit there.'
          : 'No process was busy 90 % of a core or more on this link.') +
        ceiling,
    );
  }

  const allOther = [...r.uploads, ...r.memory.runs, ...r.pipeline].map((u) => u.otherCores).concat(r.hash.map((h) => h.otherCores));
  const loaded = allOther.filter((x) => x >= 0.25).length;
  const setAside = r.repeatedForLoad.length;
  lines.push(
    `**Repeated measurements.** An upload measured while other processes used ${fixed(r.otherLoadLimit, 1)} cores or more was made again (up to ${r.maxAttempts} attempts in all); ` +
      `${setAside === 0 ? 'none had to be.' : `${setAside} measurement(s) were set aside this way and are listed, marked "set aside", in the per-upload table; they are not in the medians.`}`,
  );
  lines.push(
    loaded > 0
      ? `**Other load.** Processes outside the bench used 0.25 cores or more during ${loaded} of the ${allOther.length} measurements kept (up to ${fixed(Math.max(...allOther), 2)} of ${r.machine.cores} cores; see the "other load" columns and the per-upload table). Those runs are slower and noisier than on an idle machine; the medians and ranges above include them.`
      : `**Other load.** Processes outside the bench used less than 0.25 cores during every measurement kept (at most ${fixed(Math.max(...allOther), 2)}).`,
  );

  const memLines = r.contestants.map((c) => {
    const small = rss(runsOf('loopback', c.key));
    const big = rss(r.memory.runs.filter((u) => u.contestant === c.key));
    const overIdle = (x: number): string => `${mib(x - idleRss(r, c.uploader))} (${fixed((x - idleRss(r, c.uploader)) / part, 1)} x part size)`;
    return `${c.label}: ${overIdle(small)} at ${sizeLabel(s.size)}, ${overIdle(big)} at ${sizeLabel(s.memorySize)}`;
  });
  const growths = r.contestants.map((c) => {
    const smallRuns = runsOf('loopback', c.key);
    const bigRuns = r.memory.runs.filter((u) => u.contestant === c.key);
    return { label: c.label, growth: rss(bigRuns) - rss(smallRuns), buffers: arrayBuffers(bigRuns) - arrayBuffers(smallRuns) };
  });
  const signed = (x: number): string => {
    const rounded = Math.round(x / MiB) * MiB;
    return `${rounded >= 0 ? '+' : '-'}${mib(Math.abs(rounded))}`;
  };
  const maxRise = Math.max(0, ...growths.map((g) => g.growth));
  const grew = growths.filter((g) => g.growth > 2 * partBig);
  const sizeVerdict =
    (grew.length === 0
      ? `no uploader's median peak RSS rose by more than ${mib(maxRise)} (two parts are ${mib(2 * partBig)}): for ours and for the SDK alike, the peak did not follow the file size`
      : `the median peak RSS rose by more than two parts for ${grew.map((g) => `${g.label} (${signed(g.growth)})`).join(', ')}; the others rose by at most ${mib(Math.max(0, ...growths.filter((g) => !grew.includes(g)).map((g) => g.growth)))}`) +
    `. Peak ArrayBuffers changed by ${growths.map((g) => `${signed(g.buffers)} (${g.label})`).join(', ')}`;
  lines.push(
    `**Memory.** Part size was ${sizeLabel(part)}${partBig !== part ? ` (${sizeLabel(partBig)} for the ${sizeLabel(s.memorySize)} file)` : ' for both sizes'}. ` +
      `Peak RSS above the idle process (modules loaded, client built, nothing sent): ${memLines.join('; ')}. ` +
      `From ${sizeLabel(s.size)} to ${sizeLabel(s.memorySize)} (${fixed(s.memorySize / s.size, 0)}x the bytes) ${sizeVerdict}. ` +
      `The peaks are above the live part buffers alone (ours about (concurrency + 1) x part size by design: ${ours.map((c) => `${mib(((c.concurrency ?? 1) + 1) * part)} at ${c.concurrency}`).join(', ')}; ` +
      `the SDK about 2-3 x part size by the reference's reading of its code); what makes up the rest (HTTP stacks, read-stream chunks, garbage not yet collected) was not broken down here. ` +
      `Peak ArrayBuffers (Buffers live or awaiting collection) at ${sizeLabel(s.size)}: ${r.contestants
        .map((c) => `${c.key === 'sdk' ? 'SDK' : `ours at ${c.concurrency}`} ${mib(arrayBuffers(runsOf('loopback', c.key)))} (${fixed(arrayBuffers(runsOf('loopback', c.key)) / part, 1)} x part size)`)
        .join(', ')}.`,
  );

  const p = r.pipeline;
  if (p.length > 0) {
    const at = (key: string): number => median(p.map((x) => x.marks[key] ?? Number.NaN)) / 1000;
    const total = median(p.map((x) => x.ms)) / 1000;
    const partsAt = at('partsDoneMs');
    const hashAt = at('hashDoneMs');
    lines.push(
      `**Pipeline.** ${fixed(median(p.map((x) => x.mibPerSecond)))} MiB/s end to end (median of ${p.length}), from StartExecution to the committed file, ${fixed(total, 2)} s. ` +
        `Median times from the start: Prepare done at ${fixed(at('preparedMs'), 2)} s, all parts stored at ${fixed(partsAt, 2)} s, whole-file hash done at ${fixed(hashAt, 2)} s, ` +
        `so ${hashAt > partsAt ? 'the hash loop finished last and was the critical path of UploadAndHash here' : 'the part fan-out finished last and was the critical path of UploadAndHash here'}; ` +
        `the ${fixed(total - Math.max(partsAt, hashAt), 2)} s after that are the Commit step (list parts, commit, one 202 and its 1 s Wait state, commit again) and the state machine's own steps. ` +
        `All Lambdas of a run share one Node process, and s3rver and the emulator share the other, on ${r.machine.cores} cores: a functional end-to-end figure, not a Lambda throughput.`,
    );
  }

  const cpu = r.hash.filter((h) => h.kind === 'cpu');
  const s3 = r.hash.filter((h) => h.kind === 's3');
  if (cpu.length > 0) {
    const speed = (runs: HashRun[], mark: string): number => median(runs.map((h) => mibPerSecond(h.size, h.marks[mark] ?? Number.NaN)));
    const wasm = speed(cpu, 'hashWasmMs');
    const slice = speed(s3, 'hashSliceMs');
    lines.push(
      `**Hashing.** In memory, hash-wasm ran at ${fixed(wasm / speed(cpu, 'nodeCryptoMs'), 2)}x the speed of node:crypto on this CPU (SHA extensions ${r.machine.shaNi ? 'present' : 'absent'}); ` +
        `saving and reloading the state every ${sizeLabel(s.hashSliceBytes)} gave ${fixed(speed(cpu, 'hashWasmResumedMs'))} MiB/s against ${fixed(wasm)} MiB/s without, and the three digests agreed in every run. ` +
        `hash-wasm serves only a hash that must cross Lambda invocations (node:crypto cannot export its state); an object one invocation can finish is hashed with node:crypto. ` +
        (s3.length > 0
          ? `Over s3rver, the HashObject code path (hashSlice, ${hashSliceEngine(s3)}) reached ${fixed(slice)} MiB/s, and one GetObject stream into node:crypto ${fixed(speed(s3, 'nodeStreamMs'))} MiB/s on the same object.`
          : ''),
    );
  }
  return lines;
}

const CAVEATS = [
  'Loopback and emulator numbers are not Box\'s real speed. Uploader and emulator run on the same machine and compete for its cores; the emulator hashes every part and writes it to its data folder (see Files under Settings). On loopback either side can be the limit; the CPU columns show how busy each was.',
  'The WAN-like shape is a model: a fixed latency added to every request and a token bucket per TCP connection on the server side. There is no TCP slow start, loss, TLS or real round trip; Box\'s real per-connection throughput and latency were not measured here.',
  'Each commit answers 202 once with `Retry-After: 1` before the 201, so both uploaders go through the 202 path (the SDK thanks to the Retry-After workaround of reference §7.4) and both wait that second (ours never re-commits sooner than 1 s). The end-to-end times include it; the parts-phase columns (session created to last part stored, timed from the emulator\'s request log in the bench process) do not.',
  'Times are measured inside each child process around the `uploadBigFile` call (process start and module loading excluded). Every upload is then downloaded over HTTP (8 ranged GETs) and its SHA-1 compared with the source file\'s; the bench exits non-zero on any mismatch.',
  '"Cores busy" is the CPU time of the uploader (during its upload call) and of the emulator process, together, per wall second. "Other load" is the machine\'s busy cores from /proc/stat over the child\'s life minus the bench\'s own processes: other processes\' or system work that competed for the same cores. Before each measurement the bench waits (up to 10 s) for half a second with less than 0.3 cores busy.',
  'Peak RSS is the child process\'s getrusage maximum: it includes Node itself (see the idle column) and whatever the garbage collector had not yet returned.',
];

function settingsLines(r: BenchResults): string[] {
  const s = r.settings;
  return [
    `Files: the source files, the emulator's and s3rver's stored data and the verification downloads were all written under \`${s.workDir}\`${s.workDir === '/dev/shm' ? ' (tmpfs, memory)' : ''}.`,
    `Upload comparison: ${sizeLabel(s.size)} file read with \`fs.createReadStream\`, ${s.repeat} run(s) per uploader per link shape, uploaders interleaved in each round.`,
    `Uploaders: box-node-sdk@${r.machine.sdkVersion} \`chunkedUploads.uploadBigFile\` (sequential by design) with the Retry-After workaround; ours (\`src/box\`) \`client.chunkedUploads.uploadBigFile\` at concurrency ${s.concurrencies.join(', ')}.`,
    `Box emulator: a fresh one for every measurement (its stored files are removed after each, so earlier uploads do not pile up in the page cache under later ones), default part size (${sizeLabel(defaultPartSize(s.size))} for ${sizeLabel(s.size)}), commit answers 202 ${s.commit202.times} time(s) with Retry-After ${s.commit202.retryAfterSeconds} s.`,
    `Link shapes: ${r.shapes.map((x) => x.label).join('; ')}.`,
    `Memory: each uploader again with a ${sizeLabel(s.memorySize)} file on loopback, ${s.repeat} run(s) each; idle process = modules loaded and client built (${s.repeat} run(s) each).`,
    `Pipeline: \`runTransfer\` (local runner) with input concurrency 8, ${s.repeat} run(s); hashing: ${s.repeat} run(s) each.`,
  ];
}

/** The uploader comparison's section of BENCHMARKS.md. */
export const UPLOADS_SECTION = 'uploads';

export function renderReport(r: BenchResults): { text: string; markdown: string } {
  const tables = [...throughputTables(r), memoryTable(r), pipelineTable(r), hashTable(r)];
  const m = r.machine;
  const command = benchCommand(r.settings.argv);
  const machineLine = `${m.cpu}, ${m.cores} cores, ${fixed(m.memoryBytes / 1024 ** 3, 1)} GiB memory, ${m.platform}, Node ${m.node}`;
  const read = reading(r);

  const text = [
    ...tables.map((t) => `${t.title}\n${textTable(t.header, t.rows)}\n`),
    ...read.map((l) => l.replace(/\*\*/g, '')),
    '',
    `machine: ${machineLine}; ${m.date}; bench took ${fixed(r.totalSeconds, 0)} s`,
  ].join('\n');

  const rawRows = [...r.uploads, ...r.memory.runs, ...r.repeatedForLoad].map((u) => [
    r.repeatedForLoad.includes(u) ? `${u.shape} (set aside)` : u.shape,
    sizeLabel(u.size),
    r.contestants.find((c) => c.key === u.contestant)?.label ?? u.contestant,
    String(u.rep),
    fixed(u.ms / 1000, 2),
    fixed(u.mibPerSecond),
    fixed(u.partsMibPerSecond),
    mib(u.memory.maxRssBytes),
    mib(u.memory.arrayBuffersBytes),
    `${fixed(u.clientCpuMs / 1000, 2)} / ${fixed(u.serverCpuMs / 1000, 2)}`,
    fixed(u.otherCores, 2),
    String(u.maxPartsInFlight),
    `${u.partRequests} / ${u.commitRequests}`,
  ]);

  const markdown = [
    startMarker(UPLOADS_SECTION, 'written by npm run bench -- --only uploads'),
    '## uploadBigFile against the official SDK (client library alone, files on local disk)',
    '',
    '### Run',
    '',
    `- Command: \`${command}\``,
    `- Machine: ${machineLine}`,
    `- SHA extensions (sha_ni) in /proc/cpuinfo: ${m.shaNi ? 'yes' : 'no'}`,
    `- Date: ${m.date}; the bench took ${fixed(r.totalSeconds, 0)} s`,
    `- Load average (1, 5, 15 min): ${m.loadAverageAtStart.map((x) => fixed(x, 2)).join(', ')} at the start, ${(m.loadAverageAtEnd ?? []).map((x) => fixed(x, 2)).join(', ')} at the end`,
    '',
    '### Settings',
    '',
    ...settingsLines(r).map((l) => `- ${l}`),
    '',
    '### Results',
    '',
    ...tables.flatMap((t) => [`#### ${t.title}`, '', markdownTable(t.header, t.rows), '']),
    '### Reading',
    '',
    ...read.flatMap((l) => [l, '']),
    '### Caveats',
    '',
    ...CAVEATS.map((c) => `- ${c}`),
    '',
    '### Every upload',
    '',
    markdownTable(['link', 'file', 'uploader', 'run', 'seconds', 'MiB/s', 'parts phase MiB/s', 'peak RSS', 'peak ArrayBuffers', 'CPU s uploader / emulator', 'other load (cores)', 'parts in flight (max)', 'part PUTs / commits'], rawRows),
    '',
    endMarker(UPLOADS_SECTION),
  ].join('\n');
  return { text, markdown };
}
