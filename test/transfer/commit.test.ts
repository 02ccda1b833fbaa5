import { describe, expect, it } from 'vitest';
import { checkCoverage } from '../../src/transfer/commit.ts';
import { nameConflict } from '../../src/transfer/conflict.ts';
import type { SessionRef } from '../../src/transfer/contract.ts';
import { BoxConflictError } from '../../src/box/errors.ts';

const session = { id: 'S', partSize: 100, totalParts: 3 } as SessionRef;
const part = (offset: number, size: number) => ({ part_id: `P${offset}`, offset, size, sha1: 'x' });

describe('checkCoverage', () => {
  it('accepts exactly the session parts', () => {
    expect(() => checkCoverage([part(0, 100), part(100, 100), part(200, 50)], session, 250)).not.toThrow();
  });
  it.each([
    [[part(0, 100), part(200, 50)], /2 of 3 parts: part 1 \(offset 100\) is missing/],
    [[part(0, 100), part(100, 100)], /part 2 \(offset 200\) is missing/],
    [[part(0, 100), part(100, 100), part(200, 60)], /offset 200 with 60 bytes does not match part 2/],
    [[part(0, 100), part(0, 100), part(100, 100), part(200, 50)], /offset 0 with 100 bytes does not match part 1/],
    [[part(0, 100), part(100, 100), part(200, 50), part(300, 10)], /unexpected part at offset 300/],
  ])('names what is wrong: %#', (parts, message) => {
    let caught: Error | undefined;
    try {
      checkCoverage(parts, session, 250);
    } catch (err) {
      caught = err as Error;
    }
    expect(caught?.name).toBe('Transfer.PartsIncomplete');
    expect(caught?.message).toMatch(message);
  });
});

describe('nameConflict', () => {
  it('reads context_info.conflicts as an object or an array', () => {
    const asObject = new BoxConflictError('x', { status: 409, code: 'item_name_in_use', contextInfo: { conflicts: { type: 'file', id: '9' } } });
    const asArray = new BoxConflictError('x', { status: 409, code: 'item_name_in_use', contextInfo: { conflicts: [{ type: 'folder', id: '8' }] } });
    expect(nameConflict(asObject)).toEqual({ id: '9', type: 'file' });
    expect(nameConflict(asArray)).toEqual({ id: '8', type: 'folder' });
    expect(nameConflict(new BoxConflictError('x', { status: 409, code: 'session_conflict' }))).toBeUndefined();
    expect(nameConflict(new Error('item_name_in_use'))).toBeUndefined();
  });
});
