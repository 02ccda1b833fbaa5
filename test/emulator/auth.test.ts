// Tokens: developer tokens, POST /oauth2/token (client credentials, JWT assertion), 401s with
// WWW-Authenticate, expiry (TTL, expireTokens, admin endpoint).
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoxClient, JwtAuth } from '../../src/box/index.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { call, expectBoxError } from './helpers.ts';

let box: BoxEmulator;
beforeEach(async () => {
  box = await startBoxEmulator({ clientId: 'cid', clientSecret: 'csecret', minChunkedFileSize: 1 });
});
afterEach(async () => {
  await box.close();
});

function tokenRequest(form: Record<string, string>, target = box): ReturnType<typeof call> {
  return call(target, 'POST', '/oauth2/token', {
    token: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

const ccg = { grant_type: 'client_credentials', client_id: 'cid', client_secret: 'csecret', box_subject_type: 'enterprise', box_subject_id: '12345' };

describe('POST /oauth2/token', () => {
  it('issues a bearer token for client credentials (enterprise and user subjects)', async () => {
    const r = await tokenRequest(ccg);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ access_token: expect.any(String), expires_in: 3600, token_type: 'bearer', restricted_to: [] });
    expect(r.json.refresh_token).toBeUndefined();
    const items = await call(box, 'GET', '/2.0/folders/0/items', { token: r.json.access_token });
    expect(items.status).toBe(200);
    const user = await tokenRequest({ ...ccg, box_subject_type: 'user', box_subject_id: '777' });
    expect(user.status).toBe(200);
    expect(box.stats().requests.token).toBe(2);
  });

  it('is served at /api/oauth2/token too, and takes JSON', async () => {
    const r = await call(box, 'POST', '/api/oauth2/token', { token: null, json: ccg });
    expect(r.status).toBe(200);
  });

  it('answers 400 invalid_grant for bad credentials, in the OAuth2 error shape', async () => {
    const r = await tokenRequest({ ...ccg, client_secret: 'wrong' });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'invalid_grant', error_description: 'Grant credentials are invalid' });
    expect(r.text).not.toContain('wrong');
    expect((await tokenRequest({ ...ccg, client_id: 'other' })).json.error).toBe('invalid_grant');
  });

  it('answers 400 for a bad subject type, a missing subject, or another grant type', async () => {
    expect((await tokenRequest({ ...ccg, box_subject_type: 'group' })).json.error).toBe('invalid_request');
    const { box_subject_id: _omit, ...noSubject } = ccg;
    expect((await tokenRequest(noSubject)).json.error).toBe('invalid_request');
    expect((await tokenRequest({ grant_type: 'password' })).json.error).toBe('unsupported_grant_type');
  });

  it('accepts a JWT bearer assertion whose iss is the client id (signature not checked)', async () => {
    const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const assertion = `${enc({ alg: 'RS256' })}.${enc({ iss: 'cid', sub: '12345', box_sub_type: 'enterprise', aud: 'x', jti: 'y'.repeat(16), exp: 1 })}.sig`;
    const r = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion, client_id: 'cid', client_secret: 'csecret' });
    expect(r.status).toBe(200);
    const bad = `${enc({ alg: 'RS256' })}.${enc({ iss: 'nope', sub: '1', box_sub_type: 'enterprise' })}.sig`;
    expect((await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: bad, client_id: 'cid', client_secret: 'csecret' })).json.error).toBe('invalid_grant');
  });
});

describe('JWT signatures, when the emulator is given the app\'s public keys', () => {
  const pair = (): { privateKey: string; publicKey: string } =>
    generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

  it('issues a token for an assertion signed with the registered key (each RS algorithm); 400 invalid_grant for another key, an unknown kid or no signature', async () => {
    const registered = pair();
    const other = pair();
    const checking = await startBoxEmulator({ clientId: 'cid', clientSecret: 'csecret', jwtPublicKeys: { k1: registered.publicKey } });
    try {
      const folderWith = async (auth: JwtAuth): Promise<string> => {
        const client = new BoxClient({ auth, apiUrl: checking.url, uploadUrl: checking.uploadUrl, retry: { maxAttempts: 1 } });
        try {
          return (await client.folders.getFolder('0')).id;
        } finally {
          await client.close();
        }
      };
      const jwt = (privateKey: string, publicKeyId = 'k1', algorithm: 'RS256' | 'RS384' | 'RS512' = 'RS256'): JwtAuth =>
        new JwtAuth({ clientId: 'cid', clientSecret: 'csecret', publicKeyId, privateKey: privateKey, algorithm, enterpriseId: '42' });
      for (const algorithm of ['RS256', 'RS384', 'RS512'] as const) expect(await folderWith(jwt(registered.privateKey, 'k1', algorithm))).toBe('0');
      await expect(folderWith(jwt(other.privateKey))).rejects.toMatchObject({ name: 'Box.AuthFailed', message: expect.stringContaining('Signature verification error') as unknown });
      await expect(folderWith(jwt(registered.privateKey, 'k2'))).rejects.toMatchObject({ name: 'Box.AuthFailed', message: expect.stringContaining("'kid'") as unknown });
      const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      const unsigned = `${enc({ alg: 'RS256', kid: 'k1' })}.${enc({ iss: 'cid', sub: '42', box_sub_type: 'enterprise' })}.`;
      const r = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: unsigned, client_id: 'cid', client_secret: 'csecret' }, checking);
      expect([r.status, r.json.error]).toEqual([400, 'invalid_grant']);
    } finally {
      await checking.close();
    }
  });
});

describe('bearer checks', () => {
  it('answers 401 with WWW-Authenticate for a missing or unknown token', async () => {
    const none = await call(box, 'GET', '/2.0/folders/0/items', { token: null });
    expectBoxError(none, 401, 'unauthorized');
    expect(none.headers['www-authenticate']).toBe('Bearer realm="Service"');
    const bad = await call(box, 'GET', '/2.0/folders/0/items', { token: 'nope' });
    expectBoxError(bad, 401, 'unauthorized');
    expect(bad.headers['www-authenticate']).toContain('invalid_token');
    expect(bad.text).not.toContain('nope');
    const malformed = await call(box, 'GET', '/2.0/folders/0/items', { token: null, headers: { authorization: 'Basic abc' } });
    expectBoxError(malformed, 401, 'unauthorized');
  });

  it('expireTokens() expires developer and issued tokens; a fresh CCG token works again', async () => {
    const issued = (await tokenRequest(ccg)).json.access_token as string;
    box.expireTokens();
    for (const token of [box.token, issued]) {
      const r = await call(box, 'GET', '/2.0/folders/0/items', { token });
      expectBoxError(r, 401, 'unauthorized');
      expect(r.headers['www-authenticate']).toContain('expired_token');
    }
    const fresh = (await tokenRequest(ccg)).json.access_token as string;
    expect((await call(box, 'GET', '/2.0/folders/0/items', { token: fresh })).status).toBe(200);
  });

  it('issued tokens expire after tokenTtlSeconds', async () => {
    const shortLived = await startBoxEmulator({ tokenTtlSeconds: 0 });
    try {
      const t = await tokenRequest({ ...ccg, client_id: 'emulator-client-id', client_secret: 'emulator-client-secret' }, shortLived);
      expect(t.json.expires_in).toBe(0);
      expectBoxError(await call(shortLived, 'GET', '/2.0/folders/0/items', { token: t.json.access_token }), 401, 'unauthorized');
    } finally {
      await shortLived.close();
    }
  });

  it('POST /_emulator/expire-tokens expires every token', async () => {
    expect((await call(box, 'POST', '/_emulator/expire-tokens', { token: null })).status).toBe(204);
    expectBoxError(await call(box, 'GET', '/2.0/folders/0/items'), 401, 'unauthorized');
  });
});
