// How busy the whole machine was during a measurement, from /proc/stat, so that CPU used by other
// processes (not the bench's) shows in the report instead of silently skewing the numbers.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuTimes {
  busy: number;
  total: number;
}

/** Aggregate jiffies of all CPUs, or undefined where /proc/stat is not available. */
export function machineCpuTimes(): CpuTimes | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return undefined;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/** Cores busy on the whole machine between two readings (NaN when unknown). */
function busyCoresBetween(before: CpuTimes | undefined, after: CpuTimes | undefined): number {
  if (before === undefined || after === undefined || after.total <= before.total) return Number.NaN;
  return ((after.busy - before.busy) / (after.total - before.total)) * os.availableParallelism();
}

/**
 * Cores used by other processes during a measurement: the machine's busy cores minus the bench's own
 * (CPU seconds of its processes per wall second), never below 0.
 */
export function otherCores(before: CpuTimes | undefined, after: CpuTimes | undefined, ownCpuMs: number, wallMs: number): number {
  const machine = busyCoresBetween(before, after);
  return Math.max(0, machine - ownCpuMs / wallMs);
}

/**
 * Before a measurement: waits (up to `maxWaitMs`) for half a second in which the machine, the bench
 * being idle, had less than `threshold` cores busy. Returns the ms waited. On a machine shared with
 * other work this keeps measurements out of the busiest moments; the load during each measurement is
 * still recorded and reported.
 */
export async function waitForQuiet(maxWaitMs = 10_000, threshold = 0.3): Promise<number> {
  const started = performance.now();
  for (;;) {
    const before = machineCpuTimes();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busy = busyCoresBetween(before, machineCpuTimes());
    if (!(busy >= threshold) || performance.now() - started >= maxWaitMs) return performance.now() - started;
  }
}
