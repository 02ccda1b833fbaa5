// The concurrency sweep's reading: where the pipeline stops scaling on the shaped link, and why, from what
// each run measured (never a fixed sentence). A bound is named only when this run's numbers show it; when
// none does, the reading says the cause was not determined.
import { planBatches, slotRounds } from '../src/transfer/plan.ts';
import type { BatchPlan } from '../src/transfer/plan.ts';
import { DEFAULT_SETTINGS } from '../src/transfer/settings.ts';
import type { E2eRun } from './speed.ts';
import { MiB, fixed, mibPerSecond } from './stats.ts';

/** The shaped link of the sweep: each connection capped at `bandwidth` bytes/s, plus `latencyMs` per request. */
export interface LinkShape {
  bandwidth: number;
  latencyMs: number;
  partSize: number;
}

/** A step must be this much faster end to end than the best before it to count as scaling. */
const SCALING_GAIN = 1.1;
/** The parts phase at this share of the link bound or more: the link is the bound. */
const LINK_SHARE = 0.85;
/** An event loop busy this share of the parts-and-hash phase or more: that process is the bound. */
const LOOP_SHARE = 0.85;
/** The runner, the servers and the other load on this share of the machine's cores or more: the machine is. */
const MACHINE_SHARE = 0.9;

/** MiB/s that `c` connections carry on the link, each sending one part at a time (part / (part / bandwidth + latency)). */
export function linkBound(shape: LinkShape, c: number): number {
  return (c * shape.bandwidth * shape.partSize) / (shape.partSize + (shape.bandwidth * shape.latencyMs) / 1000) / MiB;
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

/** What one sweep run shows about its bounds. */
export interface SweepFigures {
  concurrency: number;
  /** End to end. */
  mibs: number;
  /** Prepare done to the last part stored. */
  partsMs: number;
  partsMiBs: number;
  linkMiBs: number;
  rounds: number;
  /** Rounds x one part's time on the link: the shortest parts phase this plan allows. */
  roundBoundMs: number;
  /** Prepare done to the parts and the hash both done: where the work is. */
  phaseMs: number;
  /** Busy ms of the runner's event loop, and of the servers' (s3rver and the emulator share one), per ms of that phase. */
  runnerLoop: number;
  serversLoop: number;
  /** Cores busy in that phase: the runner's and the servers' CPU per ms of it, plus the other load. */
  cores: number;
  /** Everything outside the parts phase: Prepare, the commit and its waits, the state machine's steps. */
  fixedMs: number;
}

export function sweepFigures(x: E2eRun, shape: LinkShape): SweepFigures {
  const c = x.concurrency ?? 1;
  const prepared = x.marks.preparedMs ?? Number.NaN;
  const partsMs = (x.marks.partsDoneMs ?? Number.NaN) - prepared;
  const phaseMs = Math.max(x.marks.partsDoneMs ?? Number.NaN, x.marks.hashDoneMs ?? Number.NaN) - prepared;
  const { rounds } = partRounds(x.size, shape.partSize, c);
  return {
    concurrency: c,
    mibs: mibPerSecond(x.size, x.ms),
    partsMs,
    partsMiBs: mibPerSecond(x.size, partsMs),
    linkMiBs: linkBound(shape, c),
    rounds,
    roundBoundMs: rounds * ((shape.partSize / shape.bandwidth) * 1000 + shape.latencyMs),
    phaseMs,
    // Their busy time outside the phase (Prepare, the commit) is small: all of it counted in the phase.
    runnerLoop: (x.marks.loopActiveMs ?? Number.NaN) / phaseMs,
    serversLoop: (x.serverLoopMs ?? Number.NaN) / phaseMs,
    cores: (x.cpuMs + x.serverCpuMs) / phaseMs + x.otherCores,
    fixedMs: x.ms - partsMs,
  };
}

export type SweepCause = 'link' | 'rounds' | 'runner' | 'servers' | 'machine' | 'fixed';

export interface SweepStop {
  /** The highest concurrency that was still faster by SCALING_GAIN than every one before it. */
  stop: SweepFigures;
  /** The step after it, which did not scale (undefined: the sweep scaled to its end). */
  next: SweepFigures | undefined;
  /** What the step after it shows as its bound; empty: not determined. */
  causes: SweepCause[];
}

/** Where the sweep stops scaling, and the bounds the next step's measurements show. */
export function sweepStop(runs: E2eRun[], shape: LinkShape, cores: number): SweepStop | undefined {
  if (runs.length === 0) return undefined;
  const figures = runs.map((x) => sweepFigures(x, shape));
  let best = 0;
  for (let i = 1; i < figures.length; i++) if ((figures[i] as SweepFigures).mibs > (figures[best] as SweepFigures).mibs * SCALING_GAIN) best = i;
  const stop = figures[best] as SweepFigures;
  const next = figures[best + 1];
  if (next === undefined) return { stop, next, causes: [] };
  const causes: SweepCause[] = [];
  if (next.partsMiBs >= LINK_SHARE * next.linkMiBs) causes.push('link');
  if (next.rounds >= stop.rounds) causes.push('rounds');
  if (next.runnerLoop >= LOOP_SHARE) causes.push('runner');
  if (next.serversLoop >= LOOP_SHARE) causes.push('servers');
  if (next.cores >= MACHINE_SHARE * cores) causes.push('machine');
  // The parts phase did get faster, the run as a whole did not: what does not scale is outside it.
  if (next.partsMs * SCALING_GAIN <= stop.partsMs) causes.push('fixed');
  return { stop, next, causes };
}

const pct = (x: number): string => `${fixed(100 * x, 0)} %`;

/** The sweep's "Reading." paragraph. */
export function sweepReading(runs: E2eRun[], shape: LinkShape, cores: number): string {
  const s = sweepStop(runs, shape, cores);
  if (s === undefined) return '';
  const { stop, next } = s;
  if (next === undefined) {
    return (
      `**Reading.** End to end it scaled through the whole sweep (each step at least ${pct(SCALING_GAIN - 1)} faster than the best before it), up to concurrency ${stop.concurrency}: ` +
      `${fixed(stop.mibs)} MiB/s. Where it stops scaling lies past the sweep.`
    );
  }
  const why: Record<SweepCause, string> = {
    link: `the link: the parts phase ran at ${fixed(next.partsMiBs)} MiB/s, ${pct(next.partsMiBs / next.linkMiBs)} of its bound`,
    rounds: `the batch plan: at ${next.concurrency} the busiest Map slot uploads ${next.rounds} round${next.rounds === 1 ? '' : 's'} of parts, ${next.rounds > stop.rounds ? 'more than' : 'as many as'} at ${stop.concurrency}, so more connections cannot shorten the parts phase`,
    runner: `the runner's event loop: busy ${pct(next.runnerLoop)} of the parts-and-hash phase, near all of its one core`,
    servers: `the servers' event loop (s3rver and the emulator share the bench's one): busy ${pct(next.serversLoop)} of the parts-and-hash phase`,
    machine: `the machine's cores: the runner, the servers and the other load kept ${fixed(next.cores, 2)} of the ${cores} busy`,
    fixed: `the fixed part of the run: the parts phase did get faster (${fixed(stop.partsMs / 1000, 2)} -> ${fixed(next.partsMs / 1000, 2)} s), but outside it (Prepare, the commit and its 202 wait, the state machine's steps) took ${fixed(next.fixedMs / 1000, 2)} of ${fixed((next.fixedMs + next.partsMs) / 1000, 2)} s`,
  };
  return (
    `**Reading.** End to end it scaled (each step at least ${pct(SCALING_GAIN - 1)} faster than the best before it) up to concurrency ${stop.concurrency}: ${fixed(stop.mibs)} MiB/s; ` +
    `concurrency ${next.concurrency} gave ${fixed(next.mibs)} MiB/s. ` +
    `At ${next.concurrency}: parts phase ${fixed(next.partsMs / 1000, 2)} s (${fixed(next.partsMiBs)} MiB/s; link bound ${fixed(next.linkMiBs)} MiB/s; ${next.rounds} part round${next.rounds === 1 ? '' : 's'}, at least ${fixed(next.roundBoundMs / 1000, 2)} s), ` +
    `event loops busy: runner ${pct(next.runnerLoop)}, servers ${pct(next.serversLoop)} of the parts-and-hash phase; ${fixed(next.cores, 2)} of ${cores} cores busy with the other load. ` +
    (s.causes.length > 0
      ? `What bounds it: ${s.causes.map((c) => why[c]).join('; ')}.`
      : `What bounds it: **not determined**. None of the measured bounds applies: the link (parts phase at ${pct(LINK_SHARE)} of it or more), the part rounds (no fewer at ${next.concurrency} than at ${stop.concurrency}), ` +
        `one process's event loop (busy ${pct(LOOP_SHARE)} or more), the machine's cores (${pct(MACHINE_SHARE)} or more busy), the fixed part (a parts phase ${pct(SCALING_GAIN - 1)} faster that did not carry through).`)
  );
}
