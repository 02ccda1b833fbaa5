// The lost-commit look for a new file (src/box/landed.ts) over loopback against the emulator, once per
// plausible answer of Box's preflight check (OPTIONS /files/content) and of marker paging's last page:
// the file is found by name without offset paging, and every answer that does not name it falls back to a
// marker-paged listing.
import { afterEach, describe, expect, it } from 'vitest';
import type { BoxEmulatorOptions } from '../../local/box-emulator/index.ts';
import { MARKER_PAGINGS, PREFLIGHT_ANSWERS } from '../../local/box-emulator/index.ts';
import { BoxAbortedError, BoxIntegrityError, type BoxItems, type LandedLookups } from '../../src/box/index.ts';
import { fileIdNamed, findLandedFile, listForFileNamed } from '../../src/box/landed.ts';
import { sha1Hex } from '../../src/box/helpers.ts';
import { rejection } from '../support/rejection.ts';
import { startHarness, type Harness } from './emulatorHarness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(emulator: BoxEmulatorOptions = {}): Promise<Harness> {
  harness = await startHarness(emulator);
  return harness;
}

const BYTES = Buffer.from('the bytes a lost commit stored');

/** A folder holding `others` folders (listed before files, so they push the file to a later page) and `name`. */
async function folderWith(h: Harness, name: string, others = 0): Promise<{ folderId: string; fileId: string }> {
  const folder = await h.box.createFolder(`f-${Math.random().toString(36).slice(2)}`);
  for (let i = 0; i < others; i++) await h.box.createFolder(`sub-${String(i).padStart(5, '0')}`, folder.id);
  const file = await h.client.files.uploadFile({ parentFolderId: folder.id, fileName: name, file: BYTES, fileSize: BYTES.length });
  return { folderId: folder.id, fileId: file.id };
}

describe('the lost-commit look finds a new file by name: preflight check first', () => {
  for (const preflight of PREFLIGHT_ANSWERS) {
    it(`preflight answers a taken name as ${preflight}`, async () => {
      const h = await start({ preflight });
      const { folderId, fileId } = await folderWith(h, 'Landed.bin');
      h.box.resetStats();
      // Before a commit is sent again, a "free" answer is trusted (a wrong one only resends the commit).
      const before = await fileIdNamed(h.client, folderId, 'landed.BIN', {});
      const readsBefore = h.box.stats().requests;
      h.box.resetStats();
      // After a refused repeated commit, "free" is confirmed by listing.
      const after = await fileIdNamed(h.client, folderId, 'landed.BIN', { afterRefusal: true });
      const readsAfter = h.box.stats().requests;
      expect(readsBefore.preflightCheck).toBe(1);
      expect(readsAfter.preflightCheck).toBe(1);
      if (preflight === 'conflicts-object' || preflight === 'conflicts-list') {
        // The 409 names the file: no listing at all.
        expect([before, after]).toEqual([fileId, fileId]);
        expect(readsBefore.listFolderItems + readsAfter.listFolderItems).toBe(0);
      } else if (preflight === 'no-context') {
        // A 409 without the item: listed both times.
        expect([before, after]).toEqual([fileId, fileId]);
        expect([readsBefore.listFolderItems, readsAfter.listFolderItems]).toEqual([1, 1]);
      } else {
        // A check that does not look at names answers 200: trusted before resending, listed after a refusal.
        expect([before, after]).toEqual([undefined, fileId]);
        expect([readsBefore.listFolderItems, readsAfter.listFolderItems]).toEqual([0, 1]);
      }
    });
  }

  it('a name that is free: not found, without listing before a resend', async () => {
    const h = await start();
    const { folderId } = await folderWith(h, 'other.bin');
    h.box.resetStats();
    expect(await fileIdNamed(h.client, folderId, 'missing.bin', {})).toBeUndefined();
    expect(h.box.stats().requests).toMatchObject({ preflightCheck: 1, listFolderItems: 0 });
    expect(await fileIdNamed(h.client, folderId, 'missing.bin', { afterRefusal: true })).toBeUndefined();
    expect(h.box.stats().requests).toMatchObject({ preflightCheck: 2, listFolderItems: 1 });
  });

  it('a name held by a folder: no file of that name, not listed', async () => {
    const h = await start();
    const folder = await h.box.createFolder('holder');
    await h.box.createFolder('taken.bin', folder.id);
    h.box.resetStats();
    expect(await fileIdNamed(h.client, folder.id, 'taken.bin', { afterRefusal: true })).toBeUndefined();
    expect(h.box.stats().requests).toMatchObject({ preflightCheck: 1, listFolderItems: 0 });
  });

  for (const [status, code] of [
    [400, 'bad_request'],
    [403, 'access_denied_insufficient_permissions'],
    [404, 'not_found'],
    [405, 'method_not_allowed'],
    [500, 'internal_server_error'],
  ] as const) {
    it(`a preflight check refused with ${status} ${code} falls back to the listing`, async () => {
      const h = await start();
      const { folderId, fileId } = await folderWith(h, 'refused.bin');
      h.box.resetStats();
      h.box.faults.inject({ operation: 'preflightCheck', action: { type: 'status', status, code } });
      expect(await fileIdNamed(h.client, folderId, 'refused.bin')).toBe(fileId);
      expect(h.box.stats().requests.listFolderItems).toBe(1);
    });
  }

  it('findLandedFile: found by the preflight check, then read (SHA-1 and size must be ours)', async () => {
    const h = await start();
    const { folderId, fileId } = await folderWith(h, 'ours.bin');
    const sha1 = sha1Hex(BYTES);
    expect(await findLandedFile(h.client, { folderId, fileName: 'ours.bin' }, sha1, BYTES.length)).toMatchObject({ id: fileId });
    expect(await findLandedFile(h.client, { folderId, fileName: 'ours.bin' }, sha1, BYTES.length + 1)).toBeUndefined();
    expect(await findLandedFile(h.client, { folderId, fileName: 'ours.bin' }, '0'.repeat(40), BYTES.length)).toBeUndefined();
    expect(h.box.stats().requests.listFolderItems).toBe(0);
  });
});

describe('the fallback listing pages by marker', () => {
  for (const markerPaging of MARKER_PAGINGS) {
    it(`the last page ends as ${markerPaging}: a file on the third page is found, a missing name ends the listing`, async () => {
      const h = await start({ markerPaging });
      // 2,100 folders first: the file is the 2,101st entry, on the third page of 1,000.
      const { folderId, fileId } = await folderWith(h, 'deep.bin', 2100);
      h.box.resetStats();
      expect(await listForFileNamed(h.client.folders, folderId, 'DEEP.bin')).toBe(fileId);
      expect(h.box.stats().requests.listFolderItems).toBe(3);
      h.box.resetStats();
      expect(await listForFileNamed(h.client.folders, folderId, 'absent.bin')).toBeUndefined();
      expect(h.box.stats().requests.listFolderItems).toBe(3);
    });
  }

  it('asks for marker paging (the emulator refuses offset and usemarker together)', async () => {
    const h = await start();
    const seen: string[] = [];
    const { folderId } = await folderWith(h, 'x.bin', 1);
    const folders = {
      listItems: async (id: string, query?: Parameters<Harness['client']['folders']['listItems']>[1]) => {
        seen.push(JSON.stringify(query));
        return h.client.folders.listItems(id, query);
      },
    };
    await listForFileNamed(folders, folderId, 'nothing.bin');
    expect(seen).toEqual([JSON.stringify({ usemarker: true, limit: 1000 })]);
  });

  it('a marker that comes back again is Box.IntegrityError, not an endless loop', async () => {
    const page: BoxItems = { entries: [{ type: 'folder', id: '1', name: 'a' }], next_marker: 'same', limit: 1000 } as unknown as BoxItems;
    const folders = { listItems: async () => page };
    expect(await rejection(listForFileNamed(folders, '0', 'x.bin'))).toBeInstanceOf(BoxIntegrityError);
  });

  it('a cancelled preflight check (deadline, caller) ends the look: no listing after it', async () => {
    let listed = 0;
    const lookups = {
      files: {
        preflightCheck: async () => {
          throw new BoxAbortedError('aborted', { status: 0 });
        },
        getFile: async () => {
          throw new Error('not reached');
        },
      },
      folders: { listItems: async () => (listed++, { entries: [], total_count: 0, offset: 0, limit: 1000 }) },
    } as unknown as LandedLookups;
    expect(await rejection(fileIdNamed(lookups, '0', 'x.bin'))).toBeInstanceOf(BoxAbortedError);
    expect(listed).toBe(0);
  });
});
