// Retries, Retry-After, connection resets and token renewal, against the Box upload emulator.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CcgAuth, JwtAuth, contentRangeHeader, digestHeader, sha1Base64, sha1Hex } from '../../src/box/index.ts';
import { MiB, rejection, harnessPerTest } from './emulatorHarness.ts';

const start = harnessPerTest();

// A backoff of ten minutes: these calls only finish in time if the client waits the server's short Retry-After instead.
const HONOUR_RETRY_AFTER = { retry: { maxAttempts: 5, baseDelayMs: 600_000, maxDelayMs: 600_000 } };

describe('retries against the emulator', () => {
  it('429 with Retry-After, then 503 with Retry-After, then success', async () => {
    const { box, client } = await start({}, HONOUR_RETRY_AFTER);
    box.faults.inject({ operation: 'listFolderItems', nth: 1, action: { type: 'status', status: 429, code: 'rate_limit_exceeded', retryAfterSeconds: 0 } });
    box.faults.inject({ operation: 'listFolderItems', nth: 2, action: { type: 'status', status: 503, code: 'unavailable', retryAfterSeconds: 0 } });
    const items = await client.folders.listItems('0');
    expect(items.total_count).toBe(0);
    expect(box.stats().requests.listFolderItems).toBe(3);
  });

  it('500 without Retry-After is retried with backoff; exhausted retries surface Box.ServerError / Box.RateLimited', async () => {
    const { box, client } = await start();
    box.faults.inject({ operation: 'getFile', nth: 1, times: 2, action: { type: 'status', status: 500 } });
    const bytes = Buffer.from('x');
    const file = await client.files.uploadFile({ parentFolderId: '0', fileName: 'x', file: bytes, fileSize: 1 });
    expect((await client.files.getFile(file.id)).id).toBe(file.id);
    expect(box.stats().requests.getFile).toBe(3);
    box.faults.clear();
    box.faults.inject({ operation: 'getFile', action: { type: 'status', status: 502 } });
    expect(await rejection(client.files.getFile(file.id))).toMatchObject({ name: 'Box.ServerError', status: 502 });
    box.faults.clear();
    box.faults.inject({ operation: 'getFile', action: { type: 'status', status: 429, retryAfterSeconds: 0 } });
    expect(await rejection(client.files.getFile(file.id))).toMatchObject({ name: 'Box.RateLimited', status: 429, retryAfterSeconds: 0 });
    expect(box.stats().requests.getFile).toBe(3 + 4 + 4);
  });

  it('a connection reset in the middle of a part upload is retried and the part lands once', async () => {
    const { box, client } = await start();
    const content = randomBytes(2 * MiB);
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: content.length, fileName: 'reset.bin' });
    box.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'reset' } });
    const body = content.subarray(0, MiB);
    const { part } = await client.chunkedUploads.uploadFilePartByUrl(session.session_endpoints.upload_part, body, {
      digest: digestHeader(sha1Base64(body)),
      contentRange: contentRangeHeader(0, MiB, content.length),
    });
    expect(part).toMatchObject({ offset: 0, size: MiB, sha1: sha1Hex(body) });
    expect(box.stats().requests.uploadPart).toBe(2);
    expect((await client.chunkedUploads.getFileUploadSessionParts(session.id)).total_count).toBe(1);
  });

  it('uploadBigFile rides through a reset commit and a 500 on session creation', async () => {
    const { box, client } = await start();
    box.faults.inject({ operation: 'createSession', nth: 1, action: { type: 'status', status: 500 } });
    box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'reset' } });
    const content = randomBytes(2 * MiB + 9);
    const file = await client.chunkedUploads.uploadBigFile(Readable.from([content]), 'ride.bin', content.length, '0');
    expect(file.sha1).toBe(sha1Hex(content));
    expect(box.stats().requests).toMatchObject({ createSession: 2, commit: 2, uploadPart: 3 });
  });

  it('resets on every attempt end as Box.NetworkError after maxAttempts', async () => {
    const { box, client } = await start();
    box.faults.inject({ operation: 'listFolderItems', action: { type: 'reset' } });
    expect(await rejection(client.folders.listItems('0'))).toMatchObject({ name: 'Box.NetworkError', status: 0 });
    expect(box.stats().requests.listFolderItems).toBe(4);
  });

  it('"stored, then 500": the retried part meets 416 range_overlaps_existing_part with the same sha1 and succeeds', async () => {
    const { box, client } = await start();
    const content = randomBytes(2 * MiB);
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: content.length, fileName: 'stf.bin' });
    box.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    const body = content.subarray(MiB);
    const { part, alreadyUploaded } = await client.chunkedUploads.uploadFilePart(session.id, body, {
      digest: digestHeader(sha1Base64(body)),
      contentRange: contentRangeHeader(MiB, MiB, content.length),
    });
    expect(part).toMatchObject({ offset: MiB, size: MiB, sha1: sha1Hex(body) });
    expect(alreadyUploaded).toBe(true);
    expect(box.stats().requests.uploadPart).toBe(2);
  });
});

describe('CCG token renewal against the emulator', () => {
  it('one token for a burst of concurrent requests; one shared renewal after the tokens expire', async () => {
    const { box, newClient } = await start({ clientId: 'emu-client', clientSecret: 'emu-secret-123' });
    const client = newClient({ auth: new CcgAuth({ clientId: 'emu-client', clientSecret: 'emu-secret-123', enterpriseId: '1' }) });
    await Promise.all(Array.from({ length: 12 }, () => client.folders.listItems('0')));
    expect(box.stats().requests.token).toBe(1);
    box.expireTokens();
    await Promise.all(Array.from({ length: 12 }, () => client.folders.listItems('0')));
    expect(box.stats().requests.token).toBe(2);
    expect(box.stats().requests.listFolderItems).toBeGreaterThanOrEqual(24);
  });

  it('an expireToken fault mid-upload is renewed once and the request goes through', async () => {
    const { box, newClient } = await start({ clientId: 'emu-client', clientSecret: 'emu-secret-123' });
    const client = newClient({ auth: new CcgAuth({ clientId: 'emu-client', clientSecret: 'emu-secret-123', userId: '20000001' }) });
    await client.folders.listItems('0');
    box.faults.inject({ operation: 'createFolder', nth: 1, action: { type: 'expireToken' } });
    const folder = await client.folders.createFolder('after-renewal', '0');
    expect(folder.name).toBe('after-renewal');
    expect(box.stats().requests).toMatchObject({ token: 2, createFolder: 2 });
  });

  it('JwtAuth: an RS256 assertion exchanged at the emulator, then a chunked upload as the enterprise', async () => {
    const { box, newClient } = await start({ clientId: 'emu-client', clientSecret: 'emu-secret-123' });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const client = newClient({
      auth: JwtAuth.fromAppSettings({
        boxAppSettings: { clientID: 'emu-client', clientSecret: 'emu-secret-123', appAuth: { publicKeyID: 'k1', privateKey } },
        enterpriseID: '555',
      }),
    });
    const content = randomBytes(MiB + 1);
    const file = await client.chunkedUploads.uploadBigFile(Readable.from([content]), 'jwt.bin', content.length, '0');
    expect(file.sha1).toBe(sha1Hex(content));
    expect(box.stats().requests.token).toBe(1);
  });

  it('wrong client secret: Box.AuthFailed with the emulator\'s description, never the secret', async () => {
    const { newClient } = await start({ clientId: 'emu-client', clientSecret: 'emu-secret-123' });
    const client = newClient({ auth: new CcgAuth({ clientId: 'emu-client', clientSecret: 'wrong-secret-456', enterpriseId: '1' }) });
    const error = await rejection(client.folders.listItems('0'));
    expect(error.name).toBe('Box.AuthFailed');
    expect(error.status).toBeGreaterThanOrEqual(400);
    expect(error.message.length).toBeGreaterThan(0);
    expect(JSON.stringify({ ...error.toJSON(), message: error.message })).not.toContain('wrong-secret-456');
  });
});
