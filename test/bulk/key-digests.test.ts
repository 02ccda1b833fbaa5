// The compact table of the keys a manifest has listed (src/bulk/keyDigests.ts): a key is found again with
// the place that listed it first, however many keys came between (the table grows), and keys that differ
// only slightly (one character, case, length, characters outside the BMP) are never taken for one another.
import { describe, expect, it } from 'vitest';
import { KeyDigests, keyDigest } from '../../src/bulk/keyDigests.ts';

describe('KeyDigests', () => {
  it('answers the first place of a key listed again and records nothing new', () => {
    const seen = new KeyDigests();
    expect(seen.add('a/b.txt', 1)).toBeUndefined();
    expect(seen.add('a/c.txt', 3)).toBeUndefined();
    expect(seen.add('a/b.txt', 7)).toBe(1);
    expect(seen.add('a/b.txt', 9)).toBe(1);
    expect(seen.size).toBe(2);
  });

  it('keeps every key and its place as it grows far past its first size', () => {
    const seen = new KeyDigests();
    const n = 50_000;
    for (let i = 0; i < n; i++) expect(seen.add(`photos/2026/IMG_${i}.jpg`, i + 2)).toBeUndefined();
    expect(seen.size).toBe(n);
    for (let i = 0; i < n; i += 997) expect(seen.add(`photos/2026/IMG_${i}.jpg`, n + 5)).toBe(i + 2);
    expect(seen.size).toBe(n);
  });

  it('tells apart keys one character, case, length or a surrogate pair apart', () => {
    const keys = ['a', 'A', 'a ', ' a', 'ab', 'ba', 'a/b', 'a\\b', '', 'x/😀.txt', 'x/😁.txt', 'x/\uD83D.txt', 'é', 'e\u0301', 'a'.repeat(1024), `${'a'.repeat(1023)}b`];
    const seen = new KeyDigests();
    keys.forEach((k, i) => expect(seen.add(k, i + 1), JSON.stringify(k)).toBeUndefined());
    expect(seen.size).toBe(keys.length);
    expect(new Set(keys.map((k) => keyDigest(k).join(','))).size).toBe(keys.length);
  });

  it('refuses a place below 1 (0 marks an empty slot)', () => {
    expect(() => new KeyDigests().add('a', 0)).toThrow(RangeError);
  });
});
