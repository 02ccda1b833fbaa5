// The pure parts of a bulk run: input validation, names from keys, placement, the skip rule, the source
// identity, the upload pacer, and the folder tree's handling of concurrent creation.
import { describe, expect, it, vi } from 'vitest';
import { decideSkip } from '../../src/bulk/batch.ts';
import type { SkipProbe } from '../../src/bulk/batch.ts';
import { nestedFailure } from '../../src/bulk/failure.ts';
import { FolderTree, clearFolderCaches } from '../../src/bulk/folders.ts';
import type { BoxEntry } from '../../src/bulk/folders.ts';
import type { BulkBoxLike } from '../../src/bulk/boxPort.ts';
import { identityFromProperties, identityProperties, sameSource } from '../../src/bulk/identity.ts';
import { isSyncInput, validateSyncInput } from '../../src/bulk/input.ts';
import { basePrefixOf, placementOf } from '../../src/bulk/layout.ts';
import { UploadPacer } from '../../src/bulk/pacer.ts';
import { BoxError } from '../../src/box/errors.ts';
import type { SourceObject } from '../../src/transfer/contract.ts';

const valid = { source: { bucket: 'b', prefix: 'in/' }, destination: { folderId: '12' }, report: { bucket: 'r' } };

describe('validateSyncInput', () => {
  it('accepts a prefix or a manifest, and tells a sync input from a one-object one', () => {
    expect(validateSyncInput(valid)).toBe(valid);
    const manifest = { ...valid, source: { bucket: 'b', manifest: { bucket: 'm', key: 'k.jsonl', format: 'jsonl' } } };
    expect(validateSyncInput(manifest)).toBe(manifest);
    expect(isSyncInput(valid)).toBe(true);
    expect(isSyncInput({ source: { bucket: 'b', key: 'k' } })).toBe(false);
  });

  it('names every bad field', () => {
    expect(() => validateSyncInput({ ...valid, destination: { folderId: 'x' }, layout: 'tree', report: {} })).toThrow(
      /destination\.folderId must be a string of digits.*layout must be one of "mirror", "flat".*report\.bucket is required/,
    );
    expect(() => validateSyncInput({ ...valid, source: { bucket: 'b' } })).toThrow(/source must have exactly one of prefix and manifest/);
    expect(() => validateSyncInput({ ...valid, source: { bucket: 'b', prefix: '', manifest: { bucket: 'm', key: 'k', format: 'csv' } } })).toThrow(/exactly one/);
    expect(() => validateSyncInput({ ...valid, options: { objectsInFlight: 0 } })).toThrow(/options\.objectsInFlight must be >= 1/);
    try {
      validateSyncInput({});
    } catch (err) {
      expect((err as Error).name).toBe('Transfer.InvalidInput');
    }
  });
});

describe('placement of keys', () => {
  it('places keys below the prefix (mirror) or in the folder (flat)', () => {
    expect(basePrefixOf('exports/2026/rep')).toBe('exports/2026/');
    expect(basePrefixOf('rep')).toBe('');
    expect(placementOf('exports/2026/a/b c.txt', 'exports/2026/', 'mirror')).toEqual({ folders: ['a'], fileName: 'b c.txt' });
    expect(placementOf('exports/2026/a/b c.txt', 'exports/2026/', 'flat')).toEqual({ folders: [], fileName: 'b c.txt' });
    expect(placementOf('x//y/./z', '', 'mirror')).toEqual({ folders: ['x', '_', 'y', '_'], fileName: 'z' });
    expect(() => placementOf('other/a', 'exports/', 'mirror')).toThrow(/not below the prefix/);
    expect(() => placementOf('exports/dir/', 'exports/', 'mirror')).toThrow(/folder marker/);
  });
});

describe('decideSkip (same-content: size, recorded identity, S3 SHA-1, then a hash)', () => {
  const object = { bucket: 'b', key: 'k', size: 5, etag: '"e1"' };
  const sha1 = 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'; // "hello"
  const file: BoxEntry = { type: 'file', id: '9', name: 'k', size: 5, sha1 };
  const identity = { bucket: 'b', key: 'k', etag: 'e1', size: 5, sha1 };
  const probe = (head: Partial<SourceObject> = {}, hash = sha1): SkipProbe & { heads: number; hashes: number } => {
    const p = {
      heads: 0,
      hashes: 0,
      head: async () => {
        p.heads++;
        return { bucket: 'b', key: 'k', etag: '"e1"', size: 5, lastModified: '', ...head } as SourceObject;
      },
      hash: async () => {
        p.hashes++;
        return hash;
      },
    };
    return p;
  };

  it('copies what Box does not hold, and everything with skip none', async () => {
    expect(await decideSkip('same-content', object, undefined, probe())).toEqual({ skip: false, reason: 'new' });
    expect(await decideSkip('none', object, file, probe())).toEqual({ skip: false, reason: 'skip-none' });
    expect(await decideSkip('same-name', object, { ...file, size: 1 }, probe())).toEqual({ skip: true, reason: 'same-name' });
    expect(await decideSkip('same-content', object, { ...file, type: 'folder' }, probe())).toEqual({ skip: false, reason: 'name-held-by-folder' });
  });

  it('decides from sizes and the recorded identity without any S3 request', async () => {
    const p = probe();
    expect(await decideSkip('same-content', object, { ...file, size: 6 }, p)).toEqual({ skip: false, reason: 'size-differs' });
    expect(await decideSkip('same-content', object, { ...file, identity }, p)).toEqual({ skip: true, reason: 'same-source' });
    expect(p.heads + p.hashes).toBe(0);
  });

  it('does not trust an identity the S3 object or the Box file has moved away from', async () => {
    const p = probe({}, 'ffff');
    expect(await decideSkip('same-content', { ...object, etag: '"e2"' }, { ...file, identity }, p)).toEqual({ skip: false, reason: 'content-differs' });
    expect(await decideSkip('same-content', object, { ...file, sha1: 'bbbb', identity }, p)).toEqual({ skip: false, reason: 'content-differs' });
  });

  it("uses S3's full-object SHA-1 (a HEAD, no bytes), then a hash", async () => {
    const withSha = probe({ sha1: Buffer.from(sha1, 'hex').toString('base64') });
    expect(await decideSkip('same-content', object, file, withSha)).toEqual({ skip: true, reason: 'same-sha1' });
    expect([withSha.heads, withSha.hashes]).toEqual([1, 0]);
    const otherSha = probe({ sha1: Buffer.from('00'.repeat(20), 'hex').toString('base64') });
    expect(await decideSkip('same-content', object, file, otherSha)).toEqual({ skip: false, reason: 'sha1-differs' });
    const hashed = probe();
    expect(await decideSkip('same-content', object, file, hashed)).toEqual({ skip: true, reason: 'same-hash' });
    expect([hashed.heads, hashed.hashes]).toEqual([1, 1]);
    expect(await decideSkip('same-content', object, file, probe({}, 'other'))).toEqual({ skip: false, reason: 'content-differs' });
  });

  it('learns the size from a HEAD when the manifest gives none', async () => {
    const p = probe({ size: 7 });
    expect(await decideSkip('same-content', { bucket: 'b', key: 'k' }, file, p)).toEqual({ skip: false, reason: 'size-differs' });
    expect(p.heads).toBe(1);
  });
});

describe('source identity', () => {
  it('round-trips through global.properties (string values) and compares ETags without quotes', () => {
    const props = identityProperties({ bucket: 'b', key: 'k/é', etag: '"abc"', versionId: 'v1', size: 3, sha1: 'ABCD' });
    expect(props).toEqual({ s3Bucket: 'b', s3Key: 'k/é', s3ETag: 'abc', s3VersionId: 'v1', s3Size: '3', sha1: 'abcd' });
    const back = identityFromProperties({ ...props, $scope: 'global' });
    expect(sameSource(back, { bucket: 'b', key: 'k/é', etag: '"abc"', versionId: 'v1', size: 3 }, 'abcd')).toBe(true);
    expect(sameSource(back, { bucket: 'b', key: 'k/é', etag: '"abc"', versionId: 'v2', size: 3 }, 'abcd')).toBe(false);
    expect(sameSource(back, { bucket: 'c', key: 'k/é', etag: '"abc"', size: 3 }, 'abcd')).toBe(false);
    expect(identityFromProperties({ s3Bucket: 'b' })).toBeUndefined();
    expect(identityFromProperties(null)).toBeUndefined();
  });
});

describe('nestedFailure', () => {
  const input = { source: { bucket: 'b', key: 'k' }, destination: { folderId: '1' } };
  it("reads the child's error from a .sync Task's States.TaskFailed cause, and a failure document inside it", () => {
    const described = JSON.stringify({ Status: 'FAILED', Error: 'Transfer.SourceChanged', Cause: 'it changed' });
    expect(nestedFailure({ Error: 'States.TaskFailed', Cause: described })).toEqual({
      error: { name: 'Transfer.SourceChanged', message: 'it changed' },
      resumable: false,
    });
    const doc = { error: { name: 'Box.ServerError', message: 'down' }, resumable: true, resumeInput: { ...input, resume: { sessionId: 'S' } } };
    expect(nestedFailure({ Error: 'States.TaskFailed', Cause: JSON.stringify({ Error: 'Box.ServerError', Cause: JSON.stringify(doc) }) })).toEqual(doc);
    expect(nestedFailure({ Error: 'Box.NotFound', Cause: 'plain' }).error).toEqual({ name: 'Box.NotFound', message: 'plain' });
    // DescribeExecution as the API spells it (lower case), with a failure document inside.
    expect(nestedFailure({ Error: 'States.TaskFailed', Cause: JSON.stringify({ status: 'FAILED', error: 'Box.ServerError', cause: JSON.stringify(doc) }) })).toEqual(doc);
    expect(nestedFailure({ Error: 'States.TaskFailed', Cause: JSON.stringify({ status: 'FAILED', error: 'Transfer.SourceChanged', cause: 'it changed' }) }).error).toEqual({
      name: 'Transfer.SourceChanged',
      message: 'it changed',
    });
    // resumable without a resumeInput is not resumable
    expect(nestedFailure({ Error: 'X', Cause: JSON.stringify({ error: { name: 'X', message: 'm' }, resumable: true }) }).resumable).toBe(false);
  });
});

describe('UploadPacer', () => {
  it('spaces upload requests at the budget, and twice as far for a minute after a 429', async () => {
    let now = 0;
    const slept: number[] = [];
    const pacer = new UploadPacer(120, { now: () => now, sleep: async (ms) => void slept.push(ms) });
    await pacer.take();
    await pacer.take();
    await pacer.take();
    expect(slept).toEqual([500, 1000]);
    now = 10_000;
    pacer.rateLimited();
    await pacer.take();
    await pacer.take();
    expect(slept.slice(2)).toEqual([1000]);
  });

  it('drains until its last slot has passed, so k uploads span k intervals, within a limit', async () => {
    let now = 0;
    const slept: number[] = [];
    const pacer = new UploadPacer(120, { now: () => now, sleep: async (ms) => void slept.push(ms) });
    await pacer.drain();
    expect(slept).toEqual([]); // nothing taken: nothing to wait for
    await pacer.take();
    now = 100;
    await pacer.drain();
    expect(slept).toEqual([400]);
    await pacer.take();
    await pacer.drain(250);
    expect(slept).toEqual([400, 400, 250]);
  });
});

describe('FolderTree', () => {
  const conflict = (id: string, type = 'folder'): BoxError =>
    new BoxError('exists', { status: 409, code: 'item_name_in_use', contextInfo: { conflicts: [{ type, id, name: 'x' }] } });

  it('creates each folder once per run, and takes the existing id from a 409', async () => {
    clearFolderCaches();
    const created: string[] = [];
    const createFolder = vi.fn(async (name: string, parentId: string) => {
      created.push(`${parentId}/${name}`);
      if (name === 'taken') throw conflict('777');
      return { type: 'folder', id: `${parentId}${name}` } as never;
    });
    const box = { folders: { createFolder, listItems: vi.fn() }, metadata: { setGlobalProperties: vi.fn() } } as unknown as BulkBoxLike;
    const tree = new FolderTree({ box, runId: 'run-1', rootId: '0', readOnly: false });
    const ids = await Promise.all([tree.folderId(['a', 'b']), tree.folderId(['a', 'c']), tree.folderId(['a', 'b']), tree.folderId(['taken', 'd'])]);
    expect(ids).toEqual(['0ab', '0ac', '0ab', '777d']);
    expect(created.sort()).toEqual(['0/a', '0/taken', '0a/b', '0a/c', '777/d']);
    // Another batch of the same run (a warm Lambda) reuses the ids.
    expect(await new FolderTree({ box, runId: 'run-1', rootId: '0', readOnly: false }).folderId(['a', 'b'])).toBe('0ab');
    expect(createFolder).toHaveBeenCalledTimes(5);
  });

  it('fails with a named error when a file holds the folder name, and tries again next time', async () => {
    clearFolderCaches();
    let calls = 0;
    const box = {
      folders: {
        createFolder: async () => {
          calls++;
          throw conflict('5', 'file');
        },
        listItems: vi.fn(),
      },
    } as unknown as BulkBoxLike;
    const tree = new FolderTree({ box, runId: 'run-2', rootId: '0', readOnly: false });
    await expect(tree.folderId(['x'])).rejects.toMatchObject({ name: 'Transfer.NameConflict', message: expect.stringContaining('taken by a file') });
    await expect(tree.folderId(['x'])).rejects.toMatchObject({ name: 'Transfer.NameConflict' });
    expect(calls).toBe(2);
  });
});
