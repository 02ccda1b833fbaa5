import { describe, expect, it } from 'vitest';
import { boxNameForSegment, boxNameProblem, isBoxName } from '../../src/box/names.ts';

// Names Box takes as they are: both the key mapping and the check of typed names leave them alone.
const ACCEPTED = ['report.csv', 'café ünïcode.txt', 'a+b c.bin', 'x'];

describe('names from keys', () => {
  // A key segment Box would refuse, and the name it becomes.
  const MAPPED: [segment: string, name: string][] = [
    ['', '_'],
    ['.', '_'],
    ['..', '__'],
    ['a\\b', 'a_b'],
    ['tab\there\u0001', 'tab_here_'],
    [' lead and trail  ', '_lead and trail__'],
    ['   ', '___'],
  ];

  it('keeps names Box accepts and maps the others predictably, into names Box accepts', () => {
    for (const ok of [...ACCEPTED, '100%.txt']) expect(boxNameForSegment(ok)).toBe(ok);
    for (const [segment, name] of MAPPED) {
      expect(boxNameForSegment(segment), JSON.stringify(segment)).toBe(name);
      expect(isBoxName(name), JSON.stringify(name)).toBe(true);
    }
  });

  it('shortens a name over 255 characters, keeping its extension, and tells apart names that share their first 255', () => {
    const long = `${'é'.repeat(300)}.pdf`;
    const mapped = boxNameForSegment(long);
    expect(mapped.length).toBeLessThanOrEqual(255);
    expect(mapped).toMatch(/^é+~[0-9a-f]{8}\.pdf$/);
    expect(boxNameForSegment(long)).toBe(mapped);
    expect(boxNameForSegment(`${'é'.repeat(300)}x.pdf`)).not.toBe(mapped);
    expect(isBoxName(mapped)).toBe(true);
  });
});

describe('typed names (boxNameProblem)', () => {
  // A typed name Box would refuse, and why.
  const REFUSED: [name: string, problem: string][] = [
    ['', 'is empty'],
    ['.', 'is "."'],
    ['..', 'is ".."'],
    ['a\\b', "holds a '\\' or a control character"],
    ['tab\there', "holds a '\\' or a control character"],
    ['del\u007f', "holds a '\\' or a control character"],
    [' lead', 'starts or ends with whitespace'],
    ['trail\u00a0', 'starts or ends with whitespace'],
    ['é'.repeat(256), 'is 256 characters long (Box takes at most 255)'],
  ];

  it('accepts what Box accepts and says why it refuses the rest', () => {
    for (const ok of [...ACCEPTED, 'é'.repeat(255)]) expect(boxNameProblem(ok), JSON.stringify(ok)).toBeUndefined();
    for (const [name, problem] of REFUSED) {
      expect(boxNameProblem(name), JSON.stringify(name)).toBe(problem);
      expect(isBoxName(name), JSON.stringify(name)).toBe(false);
    }
  });

  it('gives the same answer however often it is asked (no regex state kept between calls)', () => {
    for (let i = 0; i < 3; i++) expect(boxNameProblem('a\\b')).toBe("holds a '\\' or a control character");
  });
});
