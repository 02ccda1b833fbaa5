// CPU per GiB of the runner process (the speed bench's `cpu` part): the pure parts. A transfer has a fixed CPU
// cost (the process's start-up and imports, Prepare, the state machine's steps, the commit) besides its cost
// per byte, so CPU per GiB depends on the size: the part measures two sizes (256 MiB, the size of the issue's
// own "22 CPU-s per GiB", and 1 GiB), fits fixed + per GiB from them, and judges the target at each size.
import type { CpuRun } from './speed.ts';
import { GiB, fixed, markdownTable as table, sizeLabel } from './stats.ts';

/** The issue's target: at most this many CPU seconds per GiB of the runner process. */
export const CPU_PER_GIB_TARGET = 8;

/**
 * CPU seconds of the whole process per GiB moved, as a user runs it: the run without the profiler (the target is
 * judged on it); a record of earlier runs without one: the profiled run's.
 */
export function perGiB(x: CpuRun): number {
  return judgedCpuMs(x) / 1000 / (x.size / GiB);
}

function judgedCpuMs(x: CpuRun): number {
  return x.unprofiled?.processCpuMs ?? x.processCpuMs;
}

/** The sizes measured, smallest first. */
function cpuSizes(runs: CpuRun[]): number[] {
  return [...new Set(runs.map((x) => x.size))].sort((a, b) => a - b);
}

export interface CpuFit {
  checkout: CpuRun['checkout'];
  /** CPU seconds a transfer costs whatever its size (the line's value at 0 bytes). */
  fixedS: number;
  /** CPU seconds per GiB moved beyond that (the line's slope). */
  perGiBS: number;
  sizes: number[];
}

/**
 * A least-squares line through a checkout's runs, process CPU seconds against GiB moved; undefined with fewer
 * than two sizes (one size cannot tell the fixed part from the part per byte).
 */
export function cpuFit(runs: CpuRun[], checkout: CpuRun['checkout']): CpuFit | undefined {
  const mine = runs.filter((x) => x.checkout === checkout && Number.isFinite(judgedCpuMs(x)));
  const sizes = cpuSizes(mine);
  if (sizes.length < 2) return undefined;
  const xs = mine.map((x) => x.size / GiB);
  const ys = mine.map((x) => judgedCpuMs(x) / 1000);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * ((ys[i] as number) - my), 0);
  const perGiBS = sxy / sxx;
  return { checkout, fixedS: my - perGiBS * mx, perGiBS, sizes };
}

/** The fit in words: "1.70 CPU-s fixed + 3.90 CPU-s per GiB". */
export function fitText(f: CpuFit): string {
  return `${fixed(f.fixedS, 2)} CPU-s fixed + ${fixed(f.perGiBS, 2)} CPU-s per GiB`;
}

/**
 * The target on this checkout's runs: met only when every size measured is at or under 8 CPU-s per GiB (the
 * smallest size, where the fixed part weighs most, decides). `value` is the worst size's CPU per GiB (NaN:
 * not measured). The text names each size; a record of earlier runs with one size only says so.
 */
export function cpuTarget(runs: CpuRun[]): { value: number; measured: string } {
  const mine = runs.filter((x) => x.checkout === 'this');
  if (mine.length === 0) return { value: Number.NaN, measured: 'n/a' };
  const sizes = cpuSizes(mine);
  const at = sizes.map((size) => {
    const xs = mine.filter((x) => x.size === size).map(perGiB);
    return { size, value: Math.max(...xs) };
  });
  const value = Math.max(...at.map((a) => (Number.isFinite(a.value) ? a.value : Number.POSITIVE_INFINITY)));
  const fit = cpuFit(mine, 'this');
  // The issue's own figure was profiled: the profiled runs' figures stay beside the judged ones.
  const profiled = mine.every((x) => x.unprofiled !== undefined)
    ? `; without the profiler (under \`node --cpu-prof\`: ${sizes.map((size) => `${fixed(Math.max(...mine.filter((x) => x.size === size).map((x) => x.processCpuMs / 1000 / (x.size / GiB))), 2)} at ${sizeLabel(size)}`).join('; ')})`
    : '; profiled runs only';
  const measured =
    at.map((a) => `${fixed(a.value, 2)} at ${sizeLabel(a.size)}`).join('; ') +
    (fit === undefined ? ` (one size only: the fixed part and the part per byte not told apart)` : ` (fit: ${fitText(fit)})`) +
    profiled;
  return { value: Number.isFinite(value) ? value : Number.NaN, measured };
}

/** CPU-s of a run spent before its transfer started (the process's start-up and imports), from its profile's share. */
export function startupCpuS(x: CpuRun): number | undefined {
  const ms = x.profile.startupMs;
  if (ms === undefined || !(x.profile.totalMs > 0)) return undefined;
  return (ms / x.profile.totalMs) * (x.processCpuMs / 1000);
}

function runLabel(x: CpuRun, sizes: number): string {
  const who = x.checkout === 'this' ? 'this one' : 'before';
  return sizes > 1 ? `${who}, ${sizeLabel(x.size)}` : who;
}

/** The CPU part of the speed section (after its heading and "from an earlier run" line). */
export function renderCpu(runs: CpuRun[]): string[] {
  const out: string[] = [];
  const sizes = cpuSizes(runs).length;
  const ordered = [...runs].sort((a, b) => a.size - b.size || (a.checkout === b.checkout ? 0 : a.checkout === 'before' ? -1 : 1));
  out.push(
    table(
      [
        'checkout',
        'object',
        'seconds',
        'CPU s, whole process',
        'CPU-s per GiB, whole process (judged)',
        'under `node --cpu-prof`: CPU-s per GiB, whole process',
        'under `node --cpu-prof`: before the transfer started (CPU s)',
        'under `node --cpu-prof`: the transfer only (CPU-s per GiB)',
        'other load',
      ],
      ordered.map((x) => {
        const startup = startupCpuS(x);
        return [
          x.checkout === 'this' ? 'this one' : 'before (earlier commit)',
          sizeLabel(x.size),
          fixed((x.unprofiled?.ms ?? x.ms) / 1000, 2),
          fixed(judgedCpuMs(x) / 1000, 2),
          `**${fixed(perGiB(x), 2)}**`,
          fixed(x.processCpuMs / 1000 / (x.size / GiB), 2),
          startup === undefined ? 'n/a' : fixed(startup, 2),
          fixed(x.transferCpuMs / 1000 / (x.size / GiB), 2),
          fixed(x.unprofiled?.otherCores ?? x.otherCores, 2),
        ];
      }),
    ),
  );
  out.push('');
  out.push(
    ordered.every((x) => x.unprofiled !== undefined)
      ? 'Each size runs twice per checkout: as a user runs it (no profiler: the CPU seconds, the CPU per GiB judged and the fit) and again under `node --cpu-prof` (its CPU per GiB beside; the rest of this part comes from that run: the time before the transfer started, the transfer alone, the threads, the profile).'
      : 'Rows of an earlier record were measured under `node --cpu-prof` only: their CPU per GiB includes the profiler\'s own thread and its cost at start-up.',
  );
  out.push('');
  const threaded = ordered.filter((x) => x.threadCpuMs !== undefined);
  if (threaded.length > 0) {
    out.push(
      'By thread (CPU s; Linux `/proc/self/task`): the main thread runs the JavaScript (what the profile samples); V8\'s workers run garbage collection helpers and the optimizing compiler; ' +
        'the CPU profiler\'s own thread is the profile\'s cost, not the runner\'s: ' +
        threaded.map((x) => `${runLabel(x, 2)}: ${Object.entries(x.threadCpuMs ?? {}).filter(([, ms]) => ms > 0).map(([k, ms]) => `${k} ${fixed(ms / 1000, 2)}`).join(', ')}`).join('; ') +
        '.',
    );
    out.push('');
  }
  const fits = (['before', 'this'] as const).map((c) => cpuFit(runs, c)).filter((f) => f !== undefined);
  if (fits.length > 0) {
    out.push(
      `**Fixed and per GiB.** A line through each checkout's sizes (process CPU seconds without the profiler against GiB moved): ` +
        fits.map((f) => `${f.checkout === 'this' ? 'this one' : 'before'}: ${fitText(f)}`).join('; ') +
        '. The fixed part is what one transfer costs whatever its size: the process\'s start-up and imports ("before the transfer started" above), then Prepare, the state machine\'s steps, the sessions\' and hash\'s set-up and the commit. ' +
        `So CPU per GiB falls with size; the target (at most ${CPU_PER_GIB_TARGET}) is judged at every size measured, the smallest deciding. ` +
        `The ${sizeLabel(cpuSizes(runs)[0] as number)} row is the like-for-like with the issue's own figure (22.8 CPU-s per GiB, a 256 MiB transfer).`,
    );
  } else {
    out.push(
      `**One size only** (${sizeLabel(cpuSizes(runs)[0] ?? GiB)}): this run could not tell the fixed CPU of a transfer from its CPU per byte; ` +
        'the issue\'s own figure (22.8 CPU-s per GiB) was a 256 MiB transfer, where the fixed part weighs four times what it does at 1 GiB.',
    );
  }
  out.push('');
  out.push(
    'Profile breakdown (self time by category, as % of the profile\'s busy samples; the profile samples wall time of the busy thread, so on a shared machine its ms exceed the CPU seconds — the shares are what compare). ' +
      '"Before the transfer started": every sample before the first one inside the local runner\'s `startExecution` (the process\'s start-up, its imports, building the clients):',
  );
  out.push('');
  const cats = [...new Set(runs.flatMap((x) => x.profile.categories.map((c) => c.category)))];
  const last = ordered[ordered.length - 1];
  const share = (x: CpuRun, ms: number | undefined): string => (ms === undefined ? 'n/a' : `${fixed((100 * ms) / x.profile.totalMs, 1)} %`);
  out.push(
    table(
      ['category', ...ordered.map((x) => runLabel(x, sizes))],
      [
        ...cats
          .map((cat) => ({ cat, key: last?.profile.categories.find((c) => c.category === cat)?.ms ?? 0 }))
          .sort((a, b) => b.key - a.key)
          .map(({ cat }) => [cat, ...ordered.map((x) => share(x, x.profile.categories.find((c) => c.category === cat)?.ms ?? 0))]),
        ['*before the transfer started (all categories)*', ...ordered.map((x) => share(x, x.profile.startupMs))],
      ],
    ),
  );
  out.push('');
  for (const x of ordered) {
    out.push(`Top functions (${runLabel(x, sizes)}): ${x.profile.top.slice(0, 8).map((t) => `${t.fn} (${t.where || 'native'}) ${fixed((100 * t.ms) / x.profile.totalMs, 1)} %`).join('; ')}.`);
    out.push('');
  }
  return out;
}
