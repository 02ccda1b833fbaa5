// A partial speed run (`--sections`) must not wipe the run of record: unknown parts are refused before anything
// is measured, and the parts a run does not measure are shown from the record, each naming the run it comes from.
import { describe, expect, it } from 'vitest';
import { emptyResults } from './results.ts';
import { maxOtherLoad, options, renderSpeed } from '../../bench/speed.ts';
import type { E2eRun, HashRow, SpeedResults } from '../../bench/speed.ts';
import { EMPTY_RECORD, notRecorded, parseRecord, parseSections, recordRun, SECTIONS, withEarlier } from '../../bench/speed-record.ts';
import type { Section } from '../../bench/speed-record.ts';
import type { TracingResults } from '../../bench/tracing.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function e2e(who: E2eRun['who'], size: number, rep: number, ms: number, otherCores = 0): E2eRun {
  return { who, size, rep, ms, cpuMs: 1000, serverCpuMs: 1000, otherCores, rssBytes: 200 * MiB, marks: {} };
}

function hash(readOnlyMiBs: number, hashObjectMiBs: number, otherCores = 0): HashRow {
  return { cpu: 'Test CPU', date: '2026-12-02', size: GiB, readOnlyMiBs, hashObjectMiBs, nodeStreamMiBs: 700, resumableMiBs: 300, engine: 'node:crypto', otherCores, process: 'lambda' };
}

function tracing(otherCores: number[]): TracingResults {
  return {
    objectBytes: 32 * MiB,
    partBytes: 8 * MiB,
    parts: 4,
    invocationsPerProcess: 1,
    rounds: 1,
    logLevel: 'INFO',
    processes: otherCores.map((o, i) => ({ fn: 'prepare', mode: i % 2 === 0 ? 'off' : 'on', round: 1, importMs: 100, importCpuMs: 100, importLogBytes: 0, otherCores: o })),
    invocations: [],
    strayDatagrams: 0,
  };
}

/** A run's results: `argv` as given to the bench, nothing measured yet. */
function results(argv: string[], date: string): SpeedResults {
  return emptyResults(argv, date);
}

/** The run of record: every part, end to end at 5.50x and 4 GiB at 300 MiB. */
function fullRun(): SpeedResults {
  return {
    ...results(['--before', '/some/checkout'], '2026-12-02T09:45:22.064Z'),
    e2e: [e2e('sdk', GiB, 1, 55_000), e2e('pipeline', GiB, 1, 10_000)],
    hash: [hash(1000, 610)],
    cli: [{ checkout: 'this', cache: 'warm', firstRequestMs: 451, firstRequestCpuMs: 580, totalMs: 2000 }],
    huge: { ...e2e('pipeline', 4 * GiB, 1, 40_000), rssBytes: 300 * MiB },
    demo: { size: 4 * GiB, ms: 90_000, rssBytes: 700 * MiB, cpuMs: 60_000, otherCores: 0 },
  };
}

describe('--sections', () => {
  it('refuses an unknown or empty name, naming the known ones, before anything is measured', () => {
    expect(() => options(['--sections', 'hahs'])).toThrow('--sections: unknown hahs (known: e2e, sweep, cpu, hash, cli, bundles, tracing, memory, huge)');
    expect(() => options(['--only', 'speed', '--sections', 'hash,e2e,sweeep'])).toThrow(/unknown sweeep \(known: e2e, /);
    expect(() => parseSections('hash,')).toThrow("--sections: unknown '' (known:");
  });

  it('runs the named parts, every part when not given', () => {
    expect([...options(['--sections', 'hash, e2e']).sections]).toEqual(['hash', 'e2e']);
    expect([...options([]).sections]).toEqual([...SECTIONS]);
  });

  it('knows whether --out was given (a partial run writes there even without a record)', () => {
    expect(options(['--sections', 'hash']).outGiven).toBe(false);
    expect(options(['--sections', 'hash', '--out', 'x.md']).outGiven).toBe(true);
    expect(options(['--out', 'x.md', '--no-write']).outGiven).toBe(false);
  });
});

describe('the record of the parts measured', () => {
  it('a run replaces the parts it measured and keeps the others with the run they came from', () => {
    const first = recordRun(EMPTY_RECORD, fullRun(), new Set(SECTIONS));
    expect(Object.keys(first.sections)).toEqual([...SECTIONS]);
    const hashOnly = { ...results(['--only', 'speed', '--sections', 'hash'], '2026-12-02T11:30:00.000Z'), hash: [hash(1000, 820)] };
    const second = recordRun(first, hashOnly, new Set<Section>(['hash']));
    expect(second.sections.hash?.data).toEqual([hash(1000, 820)]);
    expect(second.sections.hash?.run.command).toBe('npm run bench -- --only speed --sections hash');
    expect(second.sections.e2e).toEqual(first.sections.e2e);
    expect(second.sections.e2e?.run).toMatchObject({ command: 'npm run bench -- --before <checkout of the earlier commit>', date: '2026-12-02T09:45:22.064Z' });
    // A round trip through the file keeps it as it was.
    expect(parseRecord(JSON.stringify(second), 'f')).toEqual(JSON.parse(JSON.stringify(second)));
  });

  it('names the parts a partial run neither measures nor finds in the record', () => {
    expect(notRecorded(new Set<Section>(['hash']), EMPTY_RECORD)).toEqual(SECTIONS.filter((s) => s !== 'hash'));
    const record = recordRun(EMPTY_RECORD, fullRun(), new Set<Section>(['e2e', 'sweep', 'cpu', 'hash', 'cli', 'bundles', 'tracing', 'memory']));
    expect(notRecorded(new Set<Section>(['hash']), record)).toEqual(['huge']);
    expect(notRecorded(new Set(SECTIONS), EMPTY_RECORD)).toEqual([]);
  });

  it('refuses a file that is not a record, rather than taking it for an empty one', () => {
    expect(parseRecord(undefined, 'f')).toEqual(EMPTY_RECORD);
    expect(() => parseRecord('[]', 'bench/speed-results.json')).toThrow('bench/speed-results.json is not a record');
    expect(() => parseRecord('{"sections":{"hahs":{}}}', 'f')).toThrow('unknown parts hahs');
  });
});

describe('a partial run rendered with the record', () => {
  const record = recordRun(EMPTY_RECORD, fullRun(), new Set(SECTIONS));
  const hashOnly = (): SpeedResults => ({ ...results(['--only', 'speed', '--sections', 'hash'], '2026-12-02T11:30:00.000Z'), hash: [hash(1000, 820)] });

  it('keeps the earlier end-to-end rows and verdicts, each part under a line naming its run', () => {
    const merged = withEarlier(hashOnly(), new Set<Section>(['hash']), record);
    expect(merged.e2e).toEqual(fullRun().e2e);
    expect(merged.hash).toEqual([hash(1000, 820)]);
    expect(Object.keys(merged.earlier ?? {})).toEqual(SECTIONS.filter((s) => s !== 'hash'));
    const text = renderSpeed(merged, merged.hash);
    // The earlier end-to-end table and its verdict, and the 4 GiB row.
    expect(text).toContain('| 1 GiB | s3-to-box state machine, concurrency 8 | 1 | 10.00 |');
    expect(text).toMatch(/\| end to end, 1 GiB, shaped link: >= 5x the SDK \| 5\.50x \(one run each\) \| met \| earlier run, 2026-12-02T09:45:22\.064Z \|/);
    expect(text).toMatch(/\| HashObject path: [^|]+ \| 0\.82x \| met \| this run \|/);
    expect(text).toContain('| 700 MiB (the runner process alone: 300 MiB) | met | earlier run, 2026-12-02T09:45:22.064Z |');
    expect(text).toContain('`s3-to-box demo --size 4 GiB --json` (what `npm start -- --size 4GiB` runs) in a child process of its own');
    expect(text).toContain('with a peak RSS of **700 MiB** (target: under 1 GiB');
    expect(text).toContain('Measured apart, the runner process alone (the state machine and every Lambda; s3rver and the emulator in the bench\'s process, not counted) moved 4 GiB in 40.0 s with a peak RSS of 300 MiB.');
    // Under the end-to-end heading: the run it comes from; none under the hash heading.
    const line = '*From an earlier run (this run did not measure it):* `npm run bench -- --before <checkout of the earlier commit>`, 2026-12-02T09:45:22.064Z; Test CPU, 2 cores, Node v22.';
    expect(text).toMatch(new RegExp(`### End to end on the shaped link[^\\n]*\\n\\n${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    expect(text).toMatch(/### CLI: [^\n]*\n\n\*From an earlier run/);
    expect(text).not.toMatch(/### Whole-file hash[^\n]*\n\n\*From an earlier run/);
    expect(text).toContain('This run measured only hash (`--sections`); e2e, sweep, cpu, cli, bundles, tracing, memory, huge come from earlier runs (bench/speed-results.json), each named under its heading.');
  });

  it('says which parts are neither measured nor recorded, and those stay not measured', () => {
    const partial = recordRun(EMPTY_RECORD, fullRun(), new Set<Section>(['e2e']));
    const merged = withEarlier(hashOnly(), new Set<Section>(['hash']), partial);
    const text = renderSpeed(merged, merged.hash);
    expect(text).toContain('; sweep, cpu, cli, bundles, tracing, memory, huge not measured.');
    expect(text).toMatch(/\| whole local pipeline[^|]*\| n\/a \| not measured \| this run \|/);
  });

  it('a full run shows no earlier line and no extra column', () => {
    const merged = withEarlier(fullRun(), new Set(SECTIONS), record);
    const text = renderSpeed(merged, merged.hash);
    expect(text).not.toContain('From an earlier run');
    expect(text).toContain('**Targets in this run**');
    expect(text).not.toContain('measured only');
  });
});

describe('the other load the intro quotes', () => {
  it('covers every part that records it, tracing included, and says which', () => {
    const r = { ...fullRun(), tracing: tracing([0.02, 0.4]), sweep: [e2e('pipeline', 256 * MiB, 1, 4000, 0.1)] };
    expect(maxOtherLoad(r)).toEqual({ cores: 0.4, covered: ['e2e', 'sweep', 'hash', 'tracing', 'huge'] });
    const text = renderSpeed(r, r.hash);
    expect(text).toContain('Processes outside the bench used up to 0.40 of the 2 cores during every measurement of this run that records it (end to end, sweep, hash, tracing, big pipeline; the CLI starts and bundle imports record none)');
  });

  it('leaves out the parts shown from an earlier run (their rows carry their own)', () => {
    const record = recordRun(EMPTY_RECORD, { ...fullRun(), e2e: [e2e('sdk', GiB, 1, 55_000, 1.5), e2e('pipeline', GiB, 1, 10_000, 1.5)] }, new Set(SECTIONS));
    const r = withEarlier({ ...results(['--sections', 'hash'], '2026-12-02T11:30:00.000Z'), hash: [hash(1000, 820, 0.05)] }, new Set<Section>(['hash']), record);
    expect(maxOtherLoad(r)).toEqual({ cores: 0.05, covered: ['hash'] });
    expect(renderSpeed(r, r.hash)).toContain('used at most 0.05 cores during every measurement of this run that records it (hash; ');
  });

  it('is not measured when nothing recorded it', () => {
    expect(maxOtherLoad(results([], '2026-12-02')).cores).toBeNaN();
  });
});
