// The Box emulator's global.properties metadata and `fields` in folder listings, through the Box client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import { listFolder } from '../../src/bulk/folders.ts';
import type { BulkBoxLike } from '../../src/bulk/boxPort.ts';

let box: BoxEmulator;
let client: BoxClient;
beforeAll(async () => {
  box = await startBoxEmulator();
  client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl, retry: { maxAttempts: 1 } });
});
afterAll(async () => {
  await client.close();
  await box.close();
});

describe('emulator: metadata global.properties and listing fields', () => {
  it('creates, then adds to, the instance; lists it with size and SHA-1 only when asked', async () => {
    const folder = await box.createFolder('meta');
    const file = await client.files.uploadFile({ parentFolderId: folder.id, fileName: 'a.txt', file: Buffer.from('hello'), fileSize: 5 });
    expect(await client.metadata.getGlobalProperties(file.id)).toBeUndefined();
    const created = await client.metadata.setGlobalProperties(file.id, { s3Key: 'a.txt', s3ETag: 'e1' });
    expect(created).toMatchObject({ s3Key: 'a.txt', s3ETag: 'e1', $scope: 'global', $template: 'properties' });
    // The second set meets 409 tuple_already_exists and patches.
    const patched = await client.metadata.setGlobalProperties(file.id, { s3ETag: 'e2', sha1: 'x' });
    expect(patched).toMatchObject({ s3Key: 'a.txt', s3ETag: 'e2', sha1: 'x' });
    expect(box.stats().requests).toMatchObject({ createMetadata: 2, updateMetadata: 1, getMetadata: 1 });

    const plain = await client.folders.listItems(folder.id);
    expect(plain.entries[0]).not.toHaveProperty('size');
    expect(plain.entries[0]).not.toHaveProperty('metadata');
    const entries = await listFolder(client as unknown as BulkBoxLike, folder.id);
    expect(entries.get('a.txt')).toEqual({
      type: 'file',
      id: file.id,
      name: 'a.txt',
      size: 5,
      sha1: 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d',
      identity: undefined,
    } satisfies Record<string, unknown>);
  });

  it('refuses values that are not strings; a missing file is an error, not a file without metadata', async () => {
    const file = await client.files.uploadFile({ parentFolderId: '0', fileName: 'b.txt', file: Buffer.from('b'), fileSize: 1 });
    await expect(client.metadata.setGlobalProperties(file.id, { n: 1 as unknown as string })).rejects.toMatchObject({ status: 400 });
    await expect(client.metadata.getGlobalProperties('999999')).rejects.toMatchObject({ status: 404 });
  });
});
