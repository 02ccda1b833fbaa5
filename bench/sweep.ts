// The concurrency sweep: the pipeline on the shaped link at 1, 2, 4, ... parts in flight, each row split into
// its parts phase and the fixed rest of the run, with the CPU each side used, and a reading of where the parts
// phase (and the whole run) stops scaling and why, computed from the rows by a stated rule (never a fixed
// sentence). A bound is named only when this run's numbers show it; when none does, the reading says so.
import { planBatches, slotRounds } from '../src/transfer/plan.ts';
import type { BatchPlan } from '../src/transfer/plan.ts';
import { DEFAULT_SETTINGS } from '../src/transfer/settings.ts';
import { COMMIT_202 } from './jobs.ts';
import type { E2eRun } from './speed.ts';
import { GiB, MiB, fixed, markdownTable as table, mibPerSecond, range, sizeLabel } from './stats.ts';


/** The shaped link of the sweep: each connection capped at `bandwidth` bytes/s, plus `latencyMs` per request. */
export interface LinkShape {
  bandwidth: number;
  latencyMs: number;
  partSize: number;
}

/** The concurrencies swept: the issue's 1-16, and 32 to show the ceiling past them. */
export const SWEEP_CONCURRENCIES = [1, 2, 4, 8, 16, 32] as const;

/** A concurrency whose run the link lets finish in this many seconds or less is run SHORT_RUNS times (median); a longer one once. */
const SHORT_RUN_S = 15;
const SHORT_RUNS = 3;

/** A step scales when it is at least this many times faster than the step before, per doubling of the concurrency (ideal: 2). */
const SCALING_GAIN = 1.3;
/** An event loop busy this share of the parts-and-hash phase or more: that process is the bound. */
const LOOP_SHARE = 0.85;
/** The runner, the servers and the other load on this share of the machine's cores or more: the machine is. */
const MACHINE_SHARE = 0.9;
/** The hash done after the last part by this share of the run or more: the run waited on the hash. */
const HASH_TAIL_SHARE = 0.1;
/** Other load at the step that stopped, in cores, from which the reading warns that it is about a loaded machine. */
const LOADED_CORES = 0.25;
/**
 * The wait the bench itself puts into every run: the emulator answers each commit 202 with Retry-After (bench/jobs.ts
 * COMMIT_202), and the pipeline waits that long before committing again. It is in every row's fixed part, so the
 * reading judges the fixed part net of it (a stand-in's wait is not the pipeline's).
 */
const INJECTED_COMMIT_WAIT_MS = COMMIT_202.times * COMMIT_202.retryAfterSeconds * 1000;

/** MiB/s `c` connections could carry at the link's cap alone (c x bandwidth). */
export function linkCapacity(shape: LinkShape, c: number): number {
  return (c * shape.bandwidth) / MiB;
}

/** MiB/s that `c` connections carry on the link, each sending one part at a time (part / (part / bandwidth + latency)). */
export function linkBound(shape: LinkShape, c: number): number {
  return (c * shape.bandwidth * shape.partSize) / (shape.partSize + (shape.bandwidth * shape.latencyMs) / 1000) / MiB;
}

/** Runs at concurrency `c`: SHORT_RUNS (the median shown) when one run takes SHORT_RUN_S or less at the link bound, else one; one with --quick. */
export function sweepRuns(size: number, c: number, shape: LinkShape, quick: boolean): number {
  if (quick) return 1;
  return size / MiB / linkBound(shape, c) <= SHORT_RUN_S ? SHORT_RUNS : 1;
}

/**
 * Rounds of part uploads in the busiest Map slot, from the batch plan Prepare makes at this concurrency (the
 * default settings): the Map runs its batches `mapConcurrency` at a time, a batch its parts `partsInFlight` at
 * a time. With every part taking the same time on the link, no parts phase is shorter than rounds x one part.
 */
export function partRounds(size: number, partSize: number, concurrency: number): { rounds: number; totalParts: number; plan: BatchPlan } {
  const totalParts = Math.ceil(size / partSize);
  const plan = planBatches(totalParts, partSize, concurrency, DEFAULT_SETTINGS);
  return { rounds: Math.max(0, ...slotRounds(totalParts, plan)), totalParts, plan };
}

/** One row of the sweep: the median run (by wall time) of a concurrency, and what it shows. */
export interface SweepRow {
  concurrency: number;
  size: number;
  /** Runs made at this concurrency; the figures below are the median one's. */
  runs: number;
  /** End-to-end MiB/s of every run, in the order made. */
  runMiBs: number[];
  ms: number;
  mibs: number;
  /** Prepare done to the last batch done: the parts phase, as the pipeline's own timeline records it. */
  partsMs: number;
  partsMiBs: number;
  /** Everything outside the parts phase: Prepare, the commit and its 202 wait, the state machine's steps, a hash finishing late. */
  fixedMs: number;
  /** The hash done after the last part (0 when it was done first): part of the fixed time. */
  hashTailMs: number;
  /** c x the per-connection cap; and with one request's latency per part. */
  linkCapacityMiBs: number;
  linkBoundMiBs: number;
  rounds: number;
  /** Rounds x one part's time on the link: the shortest parts phase this plan allows. */
  roundBoundMs: number;
  /** Prepare done to the parts and the hash both done: where the work is. */
  phaseMs: number;
  runnerCpuMs: number;
  runnerCpuPerGiB: number;
  serverCpuPerGiB: number;
  /** CPU per ms of that phase (all of a run's CPU counted in it): the runner, the servers; and everything busy, the other load included. */
  runnerCores: number;
  serverCores: number;
  cores: number;
  otherCores: number;
  /** Busy ms of the runner's event loop, and of the servers' (s3rver and the emulator share one), per ms of that phase. */
  runnerLoop: number;
  serversLoop: number;
  /** The most part PUTs the emulator served at once (runs before this was recorded: undefined). */
  maxPartsInFlight: number | undefined;
}

/** The run whose wall time is the median (the lower middle of an even count), so that each row's figures come from one real run. */
function medianRun(runs: E2eRun[]): E2eRun {
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor((sorted.length - 1) / 2)] as E2eRun;
}

export function sweepRow(runs: E2eRun[], shape: LinkShape): SweepRow {
  const x = medianRun(runs);
  const c = x.concurrency ?? 1;
  const prepared = x.marks.preparedMs ?? Number.NaN;
  const partsDone = x.marks.partsDoneMs ?? Number.NaN;
  const hashDone = x.marks.hashDoneMs ?? Number.NaN;
  const partsMs = partsDone - prepared;
  const phaseMs = Math.max(partsDone, hashDone) - prepared;
  const { rounds } = partRounds(x.size, shape.partSize, c);
  return {
    concurrency: c,
    size: x.size,
    runs: runs.length,
    runMiBs: runs.map((r) => mibPerSecond(r.size, r.ms)),
    ms: x.ms,
    mibs: mibPerSecond(x.size, x.ms),
    partsMs,
    partsMiBs: mibPerSecond(x.size, partsMs),
    fixedMs: x.ms - partsMs,
    hashTailMs: Math.max(0, hashDone - partsDone),
    linkCapacityMiBs: linkCapacity(shape, c),
    linkBoundMiBs: linkBound(shape, c),
    rounds,
    roundBoundMs: rounds * ((shape.partSize / shape.bandwidth) * 1000 + shape.latencyMs),
    phaseMs,
    runnerCpuMs: x.cpuMs,
    runnerCpuPerGiB: x.cpuMs / 1000 / (x.size / GiB),
    serverCpuPerGiB: x.serverCpuMs / 1000 / (x.size / GiB),
    // Their CPU outside the phase (Prepare, the commit) is small: all of it counted in the phase.
    runnerCores: x.cpuMs / phaseMs,
    serverCores: x.serverCpuMs / phaseMs,
    cores: (x.cpuMs + x.serverCpuMs) / phaseMs + x.otherCores,
    otherCores: x.otherCores,
    runnerLoop: (x.marks.loopActiveMs ?? Number.NaN) / phaseMs,
    serversLoop: (x.serverLoopMs ?? Number.NaN) / phaseMs,
    maxPartsInFlight: x.maxPartsInFlight,
  };
}

/** One row per concurrency, in increasing order (the runs of a record older than the repeats: one each). */
export function sweepRows(runs: E2eRun[], shape: LinkShape): SweepRow[] {
  const byC = new Map<number, E2eRun[]>();
  for (const r of runs) {
    const c = r.concurrency ?? 1;
    byC.set(c, [...(byC.get(c) ?? []), r]);
  }
  return [...byC.entries()].sort(([a], [b]) => a - b).map(([, xs]) => sweepRow(xs, shape));
}

/** The gain a step from `from` to `to` in flight needs to count as scaling: SCALING_GAIN per doubling. */
export function neededGain(from: number, to: number): number {
  return SCALING_GAIN ** Math.log2(to / from);
}

/** A row's throughput over that of the last row that scaled, and what the rule needs for it. */
export interface Step {
  row: SweepRow;
  gain: number;
  needed: number;
}

/** Steps below the rule that a later step made up for: the rule continued from `again`. */
export interface ScalingDip {
  /** The last row that scaled before the dip. */
  from: SweepRow;
  /** The rows below the rule against `from`, in order. */
  dipped: Step[];
  /** The first later row that regained the rule against `from`. */
  again: Step;
}

export interface ScalingStop {
  /** The last row that still scaled (the first row when the second did not). */
  last: SweepRow;
  /** The row after it, below the rule, that no later row made up for (undefined: it scaled to the end of the sweep). */
  failed: SweepRow | undefined;
  /** Its throughput over the row before (`last`), and what the rule needed. */
  gain: number;
  needed: number;
  /** The dips on the way, in order. */
  dips: ScalingDip[];
}

/**
 * Where a throughput stops scaling: a step whose throughput is less than `neededGain` times the last row that
 * scaled, when no later row regains the rule against that row. When one does, the steps between are a dip and
 * the rule continues from the row that regained it: one noisy row (a single run at a low concurrency, a median
 * at a higher one) does not make the reading contradict the gains the table shows after it. Undefined when a
 * row lacks the throughput (not measured) or there are no rows.
 */
export function scalingStop(rows: SweepRow[], throughput: (r: SweepRow) => number): ScalingStop | undefined {
  if (rows.length === 0 || rows.some((r) => !Number.isFinite(throughput(r)))) return undefined;
  const against = (from: SweepRow, row: SweepRow): Step => ({ row, gain: throughput(row) / throughput(from), needed: neededGain(from.concurrency, row.concurrency) });
  const dips: ScalingDip[] = [];
  let last = rows[0] as SweepRow;
  let i = 1;
  while (i < rows.length) {
    const step = against(last, rows[i] as SweepRow);
    if (step.gain >= step.needed) {
      last = step.row;
      i += 1;
      continue;
    }
    const later = rows.slice(i + 1).map((r) => against(last, r));
    const j = later.findIndex((x) => x.gain >= x.needed);
    if (j < 0) return { last, failed: step.row, gain: step.gain, needed: step.needed, dips };
    const again = later[j] as Step;
    dips.push({ from: last, dipped: [step, ...later.slice(0, j)], again });
    last = again.row;
    i += j + 2;
  }
  return { last, failed: undefined, gain: Number.NaN, needed: Number.NaN, dips };
}

export type PartsCause = 'rounds' | 'in-flight' | 'runner' | 'servers' | 'machine';

/**
 * The bounds the row that stopped the parts phase shows, each from its own number against its threshold. The
 * link is not among them: each connection has its own cap, so doubling the concurrency doubles the link bound,
 * and a step that gained less than 1.3x cannot have filled it (the reading quotes the share it used).
 */
export function partsCauses(stop: ScalingStop, machineCores: number): PartsCause[] {
  const { last, failed } = stop;
  if (failed === undefined) return [];
  const causes: PartsCause[] = [];
  if (failed.rounds >= last.rounds) causes.push('rounds');
  if (failed.maxPartsInFlight !== undefined && failed.maxPartsInFlight < failed.concurrency) causes.push('in-flight');
  const machine = failed.cores >= MACHINE_SHARE * machineCores;
  // With every core busy, an event loop's busy time includes the time its thread waited for a core: it shows no bound of its own then.
  if (!machine && failed.runnerLoop >= LOOP_SHARE) causes.push('runner');
  if (!machine && failed.serversLoop >= LOOP_SHARE) causes.push('servers');
  if (machine) causes.push('machine');
  return causes;
}

export type RunCause = 'parts' | 'fixed' | 'injected-wait' | 'hash';

/** The whole run's gain from `from` to `to` with the commit wait the bench injects taken out of both. */
function netRunGain(from: SweepRow, to: SweepRow): number {
  return mibPerSecond(to.size, to.ms - INJECTED_COMMIT_WAIT_MS) / mibPerSecond(from.size, from.ms - INJECTED_COMMIT_WAIT_MS);
}

/**
 * Why the whole run stopped: the parts phase stopped too; or it kept scaling, and then the fixed part held the run
 * when the run net of the bench's injected commit wait still fails the rule ('fixed'), else that wait alone did
 * ('injected-wait': the bench's, not the pipeline's). And/or a late hash.
 */
export function runCauses(stop: ScalingStop): RunCause[] {
  const { last, failed } = stop;
  if (failed === undefined) return [];
  const causes: RunCause[] = [];
  const needed = neededGain(last.concurrency, failed.concurrency);
  if (last.partsMs / failed.partsMs < needed) causes.push('parts');
  else causes.push(netRunGain(last, failed) >= needed ? 'injected-wait' : 'fixed');
  if (failed.hashTailMs >= HASH_TAIL_SHARE * failed.ms) causes.push('hash');
  return causes;
}

const pct = (x: number): string => (Number.isFinite(x) ? `${fixed(100 * x, 0)} %` : 'n/a');
const s = (ms: number, digits = 2): string => fixed(ms / 1000, digits);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The measured state of a row, as the reading quotes it. */
function rowState(r: SweepRow, machineCores: number): string {
  const left = machineCores - r.otherCores;
  const both = r.runnerCpuPerGiB + r.serverCpuPerGiB;
  return (
    `the runner's CPU ${fixed(r.runnerCores, 2)} cores, the servers' ${fixed(r.serverCores, 2)}, ` +
    `${fixed(r.cores, 2)} of the ${machineCores} cores busy, the other load (${fixed(r.otherCores, 2)}) included; event loops busy: runner ${pct(r.runnerLoop)}, servers ${pct(r.serversLoop)}` +
    (r.maxPartsInFlight === undefined ? '' : `; at most ${r.maxPartsInFlight} part PUTs at once at the emulator`) +
    `. CPU ceilings from this run: the runner and the servers spent ${fixed(r.runnerCpuPerGiB, 2)} + ${fixed(r.serverCpuPerGiB, 2)} CPU-s per GiB, ` +
    `which the ${fixed(left, 2)} cores the other load left allow at most ${fixed((left / both) * 1024)} MiB/s; ` +
    `the runner alone on all ${machineCores} (as where the servers are elsewhere) ${fixed((machineCores / r.runnerCpuPerGiB) * 1024)} MiB/s`
  );
}

/** A gain and what the rule needs, to 2 decimals, or more where 2 would print a gain below the rule as equal to it. */
function gainAndNeed(gain: number, needed: number): [string, string] {
  let digits = 2;
  while (digits < 4 && gain !== needed && fixed(gain, digits) === fixed(needed, digits)) digits += 1;
  return [fixed(gain, digits), fixed(needed, digits)];
}

/** The dips of a stop, as a sentence (empty when none): where the rule failed and where a later step regained it. */
function dipsText(stop: ScalingStop): string {
  if (stop.dips.length === 0) return '';
  const step = (x: Step, from: SweepRow): string => {
    const [gain, needed] = gainAndNeed(x.gain, x.needed);
    return `${x.row.concurrency} (${gain}x over ${from.concurrency}; the rule needs ${needed}x)`;
  };
  const each = stop.dips.map(
    (d) => `dips at ${d.dipped.map((x) => step(x, d.from)).join(' and ')}, scales again at ${step(d.again, d.from)}, the rule continuing from ${d.again.row.concurrency}`,
  );
  return ` It ${each.join('; then it ')}.`;
}

/** That no row after the one that stopped regains the rule (empty when it is the last row). */
function noRegain(rows: SweepRow[], stop: ScalingStop): string {
  const after = rows.filter((r) => r.concurrency > (stop.failed?.concurrency ?? Number.POSITIVE_INFINITY)).map((r) => r.concurrency);
  return after.length > 0 ? `; nor does ${after.join(' or ')} regain it against ${stop.last.concurrency}` : '';
}

/** The bench's injected commit wait inside a fixed part, as the reading prints the subtraction. */
const injectedText = (): string => `of which ${s(INJECTED_COMMIT_WAIT_MS)} s the emulator's commit 202 the bench injects`;

/** The sweep's "Reading." paragraphs: the parts phase, then the whole run. */
export function sweepReading(rows: SweepRow[], machineCores: number): string {
  if (rows.length === 0) return '';
  const rule =
    `**Rule.** A step scales when it is at least ${SCALING_GAIN}x faster per doubling of the concurrency (2x would be ideal) than the last step that scaled (the step before it, unless that one dipped). ` +
    'A step that does not is where the sweep stops scaling only when no later step regains the rule against that last step that scaled; ' +
    'when a later one does, the steps between are a dip and the rule continues from the step that regained it. A bound is named at the step that stopped when its own number shows it: ' +
    'no fewer part rounds than the step before; fewer part PUTs at once than the concurrency; ' +
    `${pct(MACHINE_SHARE)} or more of the machine's cores busy; or else (a loop waiting for a busy core counts as busy) an event loop busy ${pct(LOOP_SHARE)} or more of the parts-and-hash phase. ` +
    `End to end, the fixed part is judged net of the ${s(INJECTED_COMMIT_WAIT_MS)} s commit wait the bench injects into every run (the emulator's commit 202${COMMIT_202.times === 1 ? '' : ` x ${COMMIT_202.times}`}, Retry-After ${COMMIT_202.retryAfterSeconds} s): that wait is the bench's stand-in's, not the pipeline's.`;
  const parts = scalingStop(rows, (r) => r.partsMiBs);
  let partsText: string;
  if (parts === undefined) partsText = '**Parts phase:** not measured in every row (an earlier run without the timeline); no reading.';
  else if (parts.failed === undefined) {
    const l = parts.last;
    partsText =
      `**Parts phase:** it scaled through the whole sweep, up to ${l.concurrency} in flight: ${fixed(l.partsMiBs)} MiB/s, ${pct(l.partsMiBs / l.linkBoundMiBs)} of the link bound.${dipsText(parts)} ` +
      'Where it stops lies past the sweep.';
  } else {
    const { last: l, failed: f } = parts;
    const causes = partsCauses(parts, machineCores);
    const [gain, needed] = gainAndNeed(parts.gain, parts.needed);
    const why: Record<PartsCause, string> = {
      rounds: `the batch plan: the busiest Map slot uploads ${plural(f.rounds, 'round')} of parts at ${f.concurrency}, ${f.rounds > l.rounds ? 'more than' : 'as many as'} at ${l.concurrency}`,
      'in-flight': `parts in flight: at most ${f.maxPartsInFlight ?? 0} part PUTs reached the emulator at once, of ${f.concurrency}`,
      runner: `the runner's event loop, busy ${pct(f.runnerLoop)} of the phase (one thread: one core at most)`,
      servers: `the servers' event loop (s3rver and the Box emulator, the bench's stand-ins, share one), busy ${pct(f.serversLoop)} of the phase`,
      machine: `the machine's cores: ${fixed(f.cores, 2)} of ${machineCores} busy (runner ${fixed(f.runnerCores, 2)}, servers ${fixed(f.serverCores, 2)}, other load ${fixed(f.otherCores, 2)})`,
    };
    partsText =
      `**Parts phase:** it scales to ${l.concurrency} in flight (${fixed(l.partsMiBs)} MiB/s, ${pct(l.partsMiBs / l.linkBoundMiBs)} of the link bound of ${fixed(l.linkBoundMiBs)}).${dipsText(parts)} ` +
      `At ${f.concurrency} it gave ${gain}x (the rule needs ${needed}x${noRegain(rows, parts)}): ${fixed(f.partsMiBs)} MiB/s while the link could carry ${fixed(f.linkCapacityMiBs)} ` +
      `(${f.concurrency} x ${fixed(f.linkCapacityMiBs / f.concurrency)}; ${fixed(f.linkBoundMiBs)} with the per-request latency), ${pct(f.partsMiBs / f.linkBoundMiBs)} of it. ` +
      `At ${f.concurrency}: ${rowState(f, machineCores)}. ` +
      (causes.length > 0
        ? `What bounds it: ${causes.map((c) => why[c]).join('; ')}.`
        : 'What bounds it: **not determined**: none of the bounds in the rule shows at that step.') +
      (f.otherCores >= LOADED_CORES || l.otherCores >= LOADED_CORES
        ? ` **Other processes used ${fixed(Math.max(f.otherCores, l.otherCores), 2)} cores at these steps: this reading is of a loaded machine, not of the pipeline alone.**`
        : '');
  }
  const run = scalingStop(rows, (r) => r.mibs);
  let runText = '';
  if (run !== undefined) {
    if (run.failed === undefined) {
      runText = `**End to end:** it scaled through the whole sweep, up to ${run.last.concurrency}: ${fixed(run.last.mibs)} MiB/s.${dipsText(run)}`;
    } else {
      const { last: l, failed: f } = run;
      const causes = runCauses(run);
      const own = f.fixedMs - INJECTED_COMMIT_WAIT_MS;
      const [gain, needed] = gainAndNeed(run.gain, run.needed);
      const [net, netNeeded] = gainAndNeed(netRunGain(l, f), run.needed);
      const kept = `the parts phase kept scaling (${s(l.partsMs)} -> ${s(f.partsMs)} s)`;
      const why: Record<RunCause, string> = {
        parts: 'the parts phase stopped scaling too (above)',
        fixed:
          `the fixed part: ${kept} but the rest of the run took ${s(f.fixedMs)} of ${s(f.ms)} s (${pct(f.fixedMs / f.ms)}), ${injectedText()}; ` +
          `net of that wait the run still gained only ${net}x (the rule needs ${netNeeded}x), so the pipeline's own ${s(own)} s holds it`,
        'injected-wait':
          `the commit wait the bench injects, not the pipeline: ${kept}, and net of the ${s(INJECTED_COMMIT_WAIT_MS)} s the emulator's commit 202 adds to every run so did the whole run ` +
          `(${net}x; the rule needs ${netNeeded}x); the pipeline's own fixed part at ${f.concurrency} was ${s(own)} s`,
        hash: `the hash: done ${s(f.hashTailMs)} s after the last part`,
      };
      runText =
        `**End to end:** it scales to ${l.concurrency} (${fixed(l.mibs)} MiB/s).${dipsText(run)} At ${f.concurrency} it gave ${gain}x (${fixed(f.mibs)} MiB/s; the rule needs ${needed}x${noRegain(rows, run)}). ` +
        `Of ${f.concurrency}'s ${s(f.ms)} s, the parts phase took ${s(f.partsMs)} s and the fixed part ${s(f.fixedMs)} s (${pct(f.fixedMs / f.ms)}, ${injectedText()}; ${f.hashTailMs > 0 ? `the hash done ${s(f.hashTailMs)} s after the last part` : 'the hash done before the last part'}). ` +
        (causes.length > 0 ? `What holds it: ${causes.map((c) => why[c]).join('; ')}.` : '');
    }
  }
  return [rule, '', partsText, ...(runText === '' ? [] : ['', runText])].join('\n');
}

/** The sweep's part of the speed section: heading, table, how to read it, and the reading. */
export function renderSweep(runs: E2eRun[], shape: LinkShape, machineCores: number, earlier: string[]): string[] {
  const rows = sweepRows(runs, shape);
  const sizes = [...new Set(rows.map((r) => r.size))];
  const out: string[] = [];
  out.push(`### Concurrency sweep of the pipeline on the shaped link${sizes.length > 0 ? `, ${sizes.map(sizeLabel).join(', ')}` : ''}`);
  out.push('');
  out.push(...earlier);
  if (rows.length === 0) {
    out.push('Not measured.');
    return out;
  }
  const gains = rows.map((r, i) => (i === 0 ? Number.NaN : r.partsMiBs / (rows[i - 1] as SweepRow).partsMiBs));
  out.push(
    table(
      [
        'concurrency',
        'runs',
        'seconds',
        'MiB/s end to end (runs)',
        'parts phase (s)',
        'parts MiB/s (x the step before)',
        'link: c x cap (with latency), MiB/s',
        'part rounds (at least s)',
        'fixed part, s (hash done after the parts)',
        'part PUTs at once, at most',
        'runner CPU-s (per GiB)',
        'cores: runner / servers / all busy',
        'event loop busy runner / servers',
        'other load',
      ],
      rows.map((r, i) => [
        r.concurrency,
        r.runs,
        s(r.ms),
        `${fixed(r.mibs)}${r.runs > 1 ? ` (${range(r.runMiBs)})` : ''}`,
        s(r.partsMs),
        `${fixed(r.partsMiBs)}${i === 0 ? '' : ` (${fixed(gains[i] as number, 2)}x)`}`,
        `${fixed(r.linkCapacityMiBs)} (${fixed(r.linkBoundMiBs)})`,
        `${r.rounds} (${s(r.roundBoundMs)})`,
        `${s(r.fixedMs)} (${s(r.hashTailMs)})`,
        r.maxPartsInFlight ?? 'not recorded',
        `${s(r.runnerCpuMs)} (${fixed(r.runnerCpuPerGiB, 2)})`,
        `${fixed(r.runnerCores, 2)} / ${fixed(r.serverCores, 2)} / ${fixed(r.cores, 2)}`,
        `${pct(r.runnerLoop)} / ${pct(r.serversLoop)}`,
        fixed(r.otherCores, 2),
      ]),
    ),
  );
  out.push('');
  const repeated = rows.filter((r) => r.runs > 1).map((r) => r.concurrency);
  out.push(
    (repeated.length > 0
      ? `Runs: ${SHORT_RUNS} at each concurrency whose run the link lets finish in ${SHORT_RUN_S} s or less (${repeated.join(', ')}), interleaved, the median run (by wall time) shown with every run's MiB/s in brackets; one run at the others. `
      : 'One run at each concurrency. ') +
      `${runs.length} runs, ${fixed(runs.reduce((n, r) => n + r.ms, 0) / 60_000, 1)} minutes of transfers in all. ` +
      'Parts phase: Prepare done to the last batch done, from the pipeline\'s own timeline (the first part PUT starts right after Prepare; the last batch ends with its last PUT). ' +
      `Fixed part: the rest of the run (Prepare, the commit and its one 202 wait, the state machine's steps, a hash still running after the parts); the 202's Retry-After of ${s(INJECTED_COMMIT_WAIT_MS)} s is the bench's, and the reading takes it out where it judges the fixed part. ` +
      `Link: c connections at ${fixed(shape.bandwidth / MiB)} MiB/s each; in brackets, each carrying a ${fixed(shape.partSize / MiB)} MiB part plus ${shape.latencyMs} ms per request, the bound the rule compares with. ` +
      'Part rounds: the parts the busiest Map slot uploads one after the other under the batch plan Prepare makes at that concurrency; in brackets rounds x one part\'s time on the link, the shortest parts phase that plan allows. ' +
      'Part PUTs at once: the most the emulator served at the same time. ' +
      'Runner CPU-s: the runner process (the state machine and every handler, the hash included) over the whole run. ' +
      'Cores and event loops: CPU seconds and event-loop busy time per second of the parts-and-hash phase (Prepare done to both done; all of a run\'s CPU counted in it): ' +
      `the runner; the servers (s3rver and the Box emulator, the bench's stand-ins, in the bench's process on the same cores); all busy adds the other load, out of ${machineCores} cores.`,
  );
  out.push('');
  out.push(sweepReading(rows, machineCores));
  return out;
}
