// The hash table keeps the last run per CPU model and process (bench/hash-by-cpu.json): a run replaces only
// the rows it measured again, and a run that does not measure the hash keeps every row.
import { describe, expect, it } from 'vitest';
import { hashHistory, hashHistoryNote } from '../../bench/speed.ts';
import type { HashRow } from '../../bench/speed.ts';

function row(cpu: string, process: HashRow['process'], date: string): HashRow {
  return { cpu, date, size: 1024 ** 3, readOnlyMiBs: 1000, hashObjectMiBs: 500, nodeStreamMiBs: 700, resumableMiBs: 300, engine: 'node:crypto', otherCores: 0, process };
}

const EPYC = 'AMD EPYC';
const XEON = 'Intel(R) Xeon(R) Platinum 8375C';

describe('hashHistory', () => {
  const earlier = [row(EPYC, 'lambda', 'old'), row(EPYC, 'lambda', 'old'), row(EPYC, 'lambda-no-wrapper', 'old'), row(XEON, 'lambda', 'old')];

  it('a run that does not measure the hash keeps every row', () => {
    expect(hashHistory(earlier, [])).toEqual(earlier);
  });

  it('a run replaces the rows of its CPU model and process, and keeps the rest', () => {
    const next = hashHistory(earlier, [row(EPYC, 'lambda', 'new'), row(EPYC, 'lambda', 'new')]);
    expect(next.map((h) => `${h.cpu} ${h.process} ${h.date}`)).toEqual([
      `${EPYC} lambda-no-wrapper old`,
      `${XEON} lambda old`,
      `${EPYC} lambda new`,
      `${EPYC} lambda new`,
    ]);
  });

  it('a row of the same process replaces one whose memory or pinning was not recorded', () => {
    const next = hashHistory(earlier, [{ ...row(EPYC, 'lambda', 'new'), memoryMb: 1769, cpuList: '1' }]);
    expect(next.filter((h) => h.cpu === EPYC && h.process === 'lambda').map((h) => h.date)).toEqual(['new']);
  });

  it('rows of earlier runs without a process label are told apart from the labelled ones', () => {
    const unlabelled = { ...row(EPYC, undefined, 'older'), runnerFlags: true };
    expect(hashHistory([unlabelled], [row(EPYC, 'lambda', 'new')])).toEqual([unlabelled, row(EPYC, 'lambda', 'new')]);
  });
});

describe('hashHistoryNote', () => {
  it('names the CPU models that have rows, and says the issue\'s Xeon figures are not one unless a Xeon row exists', () => {
    expect(hashHistoryNote([row(EPYC, 'lambda', 'd')])).toContain('Only one CPU model has run it so far: AMD EPYC. The issue\'s Intel Xeon figures');
    const both = hashHistoryNote([row(EPYC, 'lambda', 'd'), row(XEON, 'lambda', 'd')]);
    expect(both).toContain(`CPU models that have run it: ${EPYC}, ${XEON}.`);
    expect(both).not.toContain('not a row');
    expect(hashHistoryNote([])).toContain('No CPU model has rows yet.');
  });
});
