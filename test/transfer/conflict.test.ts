// Name conflicts (src/transfer/conflict.ts): the names onConflict 'rename' tries, and how each policy treats
// a 409 from Box (a file that already holds our bytes, a folder, another file).
import { describe, expect, it } from 'vitest';
import { BoxConflictError } from '../../src/box/errors.ts';
import { renamedName, withConflictPolicy } from '../../src/transfer/conflict.ts';

describe('renamedName', () => {
  it('puts the counter before the extension', () => {
    expect(renamedName('report.pdf', 1)).toBe('report (1).pdf');
    // Box names stop at 255 characters: the stem is shortened, the extension kept.
    const long = `${'a'.repeat(250)}.pdf`;
    expect(renamedName(long, 12)).toBe(`${'a'.repeat(246)} (12).pdf`);
    expect(renamedName(long, 12)).toHaveLength(255);
    expect(renamedName('archive.tar.gz', 2)).toBe('archive.tar (2).gz');
    expect(renamedName('README', 3)).toBe('README (3)');
    expect(renamedName('.env', 1)).toBe('.env (1)');
  });
});

describe('withConflictPolicy', () => {
  const taken = (id: string, type = 'file') =>
    new BoxConflictError('Item with the same name already exists', { status: 409, code: 'item_name_in_use', contextInfo: { conflicts: { type, id } } });
  /** Box with `holders` (name → item); `ours` is the file id that already holds our bytes. */
  function folder(holders: Record<string, { id: string; type?: string }>, ours?: string) {
    const created: string[] = [];
    const looked: string[] = [];
    const handlers = {
      create: async (name: string) => {
        const holder = holders[name];
        if (holder !== undefined) throw taken(holder.id, holder.type);
        created.push(name);
        return `new:${name}`;
      },
      createVersion: async (id: string) => `version:${id}`,
      alreadyThere: async (id: string) => {
        looked.push(id);
        return id === ours ? `ours:${id}` : undefined;
      },
    };
    return { handlers, created, looked };
  }

  it('under rename, takes our file at any 409 of the loop (an earlier try stored it renamed), not the next name', async () => {
    const f = folder({ 'a.txt': { id: 'theirs' }, 'a (1).txt': { id: 'other' }, 'a (2).txt': { id: 'mine' } }, 'mine');
    expect(await withConflictPolicy('rename', 'a.txt', 'F', f.handlers, 10)).toBe('ours:mine');
    expect(f.looked).toEqual(['theirs', 'other', 'mine']);
    expect(f.created).toEqual([]);
  });

  it('under rename, a name held by a folder is not looked at and the loop goes on', async () => {
    const f = folder({ 'a.txt': { id: 'theirs' }, 'a (1).txt': { id: 'dir', type: 'folder' } }, 'dir');
    expect(await withConflictPolicy('rename', 'a.txt', 'F', f.handlers, 10)).toBe('new:a (2).txt');
    expect(f.looked).toEqual(['theirs']);
  });

  it('under version and fail, a 409 whose file holds our bytes is the result; another file follows the policy', async () => {
    expect(await withConflictPolicy('version', 'a.txt', 'F', folder({ 'a.txt': { id: 'mine' } }, 'mine').handlers, 10)).toBe('ours:mine');
    expect(await withConflictPolicy('fail', 'a.txt', 'F', folder({ 'a.txt': { id: 'mine' } }, 'mine').handlers, 10)).toBe('ours:mine');
    expect(await withConflictPolicy('version', 'a.txt', 'F', folder({ 'a.txt': { id: 'theirs' } }).handlers, 10)).toBe('version:theirs');
    await expect(withConflictPolicy('fail', 'a.txt', 'F', folder({ 'a.txt': { id: 'theirs' } }).handlers, 10)).rejects.toMatchObject({ name: 'Transfer.NameConflict' });
  });
});
