import { generateKeyPairSync, verify } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { BoxClient, JwtAuth } from '../../src/box/index.ts';
import { sendJson, startRawServer, type RawServer } from './rawServer.ts';

const servers: RawServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function decodePart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe('JwtAuth', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'key-pass' },
  });

  it('signs an RS256 assertion with Box\'s claims and exchanges it for a token', async () => {
    const s = await startRawServer((req, res) => {
      if (req.path === '/oauth2/token') return sendJson(res, 200, { access_token: 'jwt-token', expires_in: 3600, token_type: 'bearer' });
      sendJson(res, 200, { type: 'folder', id: '5', name: 'made' });
    });
    servers.push(s);
    const auth = JwtAuth.fromAppSettings(
      JSON.stringify({
        boxAppSettings: { clientID: 'app-client', clientSecret: 'app-secret', appAuth: { publicKeyID: 'kid-1', privateKey, passphrase: 'key-pass' } },
        enterpriseID: '777',
      }),
    );
    const client = new BoxClient({ auth, apiUrl: s.url, uploadUrl: `${s.url}/api` });
    try {
      const folder = await client.folders.createFolder('made', '0');
      expect(folder.id).toBe('5');
    } finally {
      await client.close();
    }
    const tokenRequest = s.requests[0]!;
    expect(tokenRequest.path).toBe('/oauth2/token');
    const form = new URLSearchParams(tokenRequest.body.toString());
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(form.get('client_id')).toBe('app-client');
    expect(form.get('client_secret')).toBe('app-secret');
    const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
    expect(decodePart(header)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    const c = decodePart(claims);
    expect(c).toMatchObject({ iss: 'app-client', sub: '777', box_sub_type: 'enterprise', aud: `${s.url}/oauth2/token` });
    expect(String(c.jti).length).toBeGreaterThanOrEqual(16);
    expect(String(c.jti).length).toBeLessThanOrEqual(128);
    expect(Number(c.exp) - Number(c.iat)).toBeLessThanOrEqual(60);
    expect(Number(c.exp)).toBeGreaterThan(Number(c.iat));
    const valid = verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature ?? '', 'base64url'));
    expect(valid).toBe(true);
    expect(s.requests[1]?.headers.authorization).toBe('Bearer jwt-token');
    expect(JSON.parse(s.requests[1]!.body.toString())).toEqual({ name: 'made', parent: { id: '0' } });
  });

  it('uses a user subject, and refuses a wrong passphrase up front', () => {
    const auth = new JwtAuth({ clientId: 'c', clientSecret: 's', publicKeyId: 'k', privateKey, passphrase: 'key-pass', userId: 'U1' });
    const [, claims] = auth.createAssertion('https://api.box.com/oauth2/token').split('.');
    expect(decodePart(claims)).toMatchObject({ sub: 'U1', box_sub_type: 'user', aud: 'https://api.box.com/oauth2/token' });
    expect(() => new JwtAuth({ clientId: 'c', clientSecret: 's', publicKeyId: 'k', privateKey, passphrase: 'wrong', userId: 'U1' })).toThrow();
  });

  it('malformed app-settings text fails with a fixed message that never quotes the private key', () => {
    const key = '-----BEGIN ENCRYPTED PRIVATE KEY-----\\nMIIFAKEKEYMATERIAL0123456789\\n-----END ENCRYPTED PRIVATE KEY-----\\n';
    const secret = /BEGI|PRIVATE|MIIFAKE/;
    const malformed = [
      // Single quotes and an unquoted key: V8 quotes the text around the unexpected token.
      `{"boxAppSettings":{"clientID":"c","clientSecret":"s","appAuth":{"publicKeyID":"k","privateKey":'${key}'}}}`,
      `{"boxAppSettings":{"appAuth":{"privateKey":PRIVATE KEY MIIFAKE}}}`,
      `{"boxAppSettings":{"appAuth":{"privateKey":"${key}",,"passphrase":"p"}}}`,
      `{"boxAppSettings":{"appAuth":{"privateKey":"${key}`,
    ];
    // What the parser itself says, to show that the test would catch it being passed on.
    expect(() => JSON.parse(malformed[0]!)).toThrow(secret);
    expect(() => JSON.parse(malformed[1]!)).toThrow(secret);
    for (const text of malformed) {
      let caught: unknown;
      try {
        JwtAuth.fromAppSettings(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TypeError);
      const error = caught as TypeError;
      expect(error.message).toMatch(/app settings/);
      for (const shown of [error.message, String(error), String(error.stack), inspect(error), String(error.cause), inspect(error.cause), JSON.stringify(error)]) {
        expect(shown).not.toMatch(secret);
      }
    }
    expect(() => JwtAuth.fromAppSettings('{"enterpriseID":"1"}')).toThrow(/boxAppSettings\.appAuth/);
  });
});
