import { describe, expect, it } from 'vitest';
import { boxNameForSegment, boxNameProblem, isBoxName } from '../../src/box/names.ts';

describe('names from keys', () => {
  it('keeps names Box accepts and maps the others predictably', () => {
    for (const ok of ['report.csv', 'café ünïcode.txt', 'a+b c.bin', '100%.txt', 'x']) expect(boxNameForSegment(ok)).toBe(ok);
    expect(boxNameForSegment('')).toBe('_');
    expect(boxNameForSegment('.')).toBe('_');
    expect(boxNameForSegment('..')).toBe('__');
    expect(boxNameForSegment('a\\b')).toBe('a_b');
    expect(boxNameForSegment('tab\there\u0001')).toBe('tab_here_');
    expect(boxNameForSegment(' lead and trail  ')).toBe('_lead and trail__');
    expect(boxNameForSegment('   ')).toBe('___');
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
  it('accepts what Box accepts and says why it refuses the rest', () => {
    for (const ok of ['report.csv', 'café ünïcode.txt', 'a+b c.bin', 'x', 'é'.repeat(255)]) expect(boxNameProblem(ok)).toBeUndefined();
    expect(boxNameProblem('')).toBe('is empty');
    expect(boxNameProblem('.')).toBe('is "."');
    expect(boxNameProblem('..')).toBe('is ".."');
    expect(boxNameProblem('a\\b')).toBe("holds a '\\' or a control character");
    expect(boxNameProblem('tab\there')).toBe("holds a '\\' or a control character");
    expect(boxNameProblem('del\u007f')).toBe("holds a '\\' or a control character");
    expect(boxNameProblem(' lead')).toBe('starts or ends with whitespace');
    expect(boxNameProblem('trail\u00a0')).toBe('starts or ends with whitespace');
    expect(boxNameProblem('é'.repeat(256))).toBe('is 256 characters long (Box takes at most 255)');
  });

  it('gives the same answer however often it is asked (no regex state kept between calls)', () => {
    for (let i = 0; i < 3; i++) expect(boxNameProblem('a\\b')).toBe("holds a '\\' or a control character");
  });
});
