// The speed section's measurements, by part (`--sections`), and the record of the last one written of each
// (bench/speed-results.json). A run of some parts only (`--sections hash`) shows every other part from the
// record, each under a line naming the run it comes from, so that a routine partial run never turns the run
// of record into "not measured"; a part the record does not hold keeps the run from writing BENCHMARKS.md.
import type { DemoRun, Options, SpeedResults } from './speed.ts';

/** The speed bench's parts, in the order it measures them. */
export const SECTIONS = ['e2e', 'sweep', 'cpu', 'hash', 'cli', 'bundles', 'tracing', 'memory', 'huge'] as const;
export type Section = (typeof SECTIONS)[number];

/** `--sections LIST`: every part when not given; an unknown or empty name is refused before anything is measured. */
export function parseSections(list: string | undefined): Set<Section> {
  if (list === undefined) return new Set(SECTIONS);
  const asked = list.split(',').map((x) => x.trim());
  const unknown = asked.filter((x) => !(SECTIONS as readonly string[]).includes(x));
  if (unknown.length > 0) {
    const shown = unknown.map((x) => (x === '' ? "''" : x)).join(', ');
    throw new Error(`--sections: unknown ${shown} (known: ${SECTIONS.join(', ')})`);
  }
  return new Set(asked as Section[]);
}

/** What the rendering of a part reads from the options of the run that measured it. */
export type RunOptions = Pick<Options, 'quick' | 'small' | 'big' | 'huge' | 'latencyMs' | 'bandwidth' | 'partSize' | 'cliRuns' | 'bundleRuns' | 'tracingRounds' | 'tracingInvocations'>;

/** The run a part was measured in: its command, start, machine and options. */
export interface RunInfo {
  command: string;
  date: string;
  machine: { cpu: string; cores: number; memoryBytes: number; node: string };
  options: RunOptions;
}

function runInfoOf(r: Pick<SpeedResults, 'options' | 'machine'>): RunInfo {
  const o = r.options;
  return {
    command: o.command,
    date: r.machine.date,
    machine: { cpu: r.machine.cpu, cores: r.machine.cores, memoryBytes: r.machine.memoryBytes, node: r.machine.node },
    options: {
      quick: o.quick,
      small: o.small,
      big: o.big,
      huge: o.huge,
      latencyMs: o.latencyMs,
      bandwidth: o.bandwidth,
      partSize: o.partSize,
      cliRuns: o.cliRuns,
      bundleRuns: o.bundleRuns,
      tracingRounds: o.tracingRounds,
      tracingInvocations: o.tracingInvocations,
    },
  };
}

/** Each part's data, as SpeedResults holds it (the UploadBatch rows are `batches` there). */
type SectionData = Pick<SpeedResults, 'e2e' | 'sweep' | 'cpu' | 'hash' | 'cli' | 'bundles' | 'tracing'> & {
  memory: SpeedResults['batches'];
  /** The runner process alone, and `s3-to-box demo` (the whole local pipeline), at the big size. */
  huge: { runner: SpeedResults['huge']; demo: DemoRun | undefined };
};

export interface SpeedRecord {
  sections: { [S in Section]?: { run: RunInfo; data: SectionData[S] } };
}

export const EMPTY_RECORD: SpeedRecord = { sections: {} };

/** One part's measurements in a run's results. */
function dataOf<S extends Section>(r: SpeedResults, s: S): SectionData[S] {
  const all: SectionData = { e2e: r.e2e, sweep: r.sweep, cpu: r.cpu, hash: r.hash, cli: r.cli, bundles: r.bundles, tracing: r.tracing, memory: r.batches, huge: { runner: r.huge, demo: r.demo } };
  return all[s];
}

function withData<S extends Section>(r: SpeedResults, s: S, data: SectionData[S]): SpeedResults {
  if (s === 'huge') {
    const { runner, demo } = data as SectionData['huge'];
    return { ...r, huge: runner, demo };
  }
  return { ...r, [s === 'memory' ? 'batches' : s]: data };
}

/** The record with the parts `measured` in this run replaced by this run's; the others as they were. */
export function recordRun(record: SpeedRecord, results: SpeedResults, measured: ReadonlySet<Section>): SpeedRecord {
  const run = runInfoOf(results);
  const sections: SpeedRecord['sections'] = { ...record.sections };
  for (const s of SECTIONS) {
    if (measured.has(s)) (sections as Record<Section, { run: RunInfo; data: unknown }>)[s] = { run, data: dataOf(results, s) };
  }
  return { sections };
}

/**
 * This run's results with every part it has not measured taken from the record (when the record holds it),
 * and `earlier` naming the run each of those comes from. Parts neither measured nor recorded stay empty.
 */
export function withEarlier(results: SpeedResults, measured: ReadonlySet<Section>, record: SpeedRecord): SpeedResults {
  let merged: SpeedResults = { ...results, earlier: {} };
  const earlier: NonNullable<SpeedResults['earlier']> = {};
  for (const s of SECTIONS) {
    const kept = record.sections[s];
    if (measured.has(s) || kept === undefined) continue;
    merged = withData(merged, s, kept.data as SectionData[typeof s]);
    earlier[s] = kept.run;
  }
  return { ...merged, earlier };
}

/** The parts a run of `sections` neither measures nor finds in the record (each would show as not measured). */
export function notRecorded(sections: ReadonlySet<Section>, record: SpeedRecord): Section[] {
  return SECTIONS.filter((s) => !sections.has(s) && record.sections[s] === undefined);
}

/** The record as read from its file: nothing when there is none; a file that is not one is an error, not an empty record. */
export function parseRecord(text: string | undefined, file: string): SpeedRecord {
  if (text === undefined) return EMPTY_RECORD;
  const parsed = JSON.parse(text) as Partial<SpeedRecord>;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.sections !== 'object' || parsed.sections === null) {
    throw new Error(`${file} is not a record of the speed bench (no "sections")`);
  }
  const unknown = Object.keys(parsed.sections).filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`${file}: unknown parts ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  return parsed as SpeedRecord;
}

/** The line a part measured in an earlier run shows under its heading. */
export function earlierLine(run: RunInfo): string {
  const m = run.machine;
  return (
    `*From an earlier run (this run did not measure it):* \`${run.command}\`, ${run.date}; ${m.cpu}, ${m.cores} cores, Node ${m.node}.`
  );
}
