// Nothing secret in any log or answer: a full transfer, failed authentications (a wrong developer
// token, a wrong client secret, an unreadable JWT key) and their failure documents, with every log line
// captured at debug level (the handlers' logger and anything written to stdout/stderr), checked for the
// developer token, the client secret, the private key, every access token Box issued, and any
// Authorization header value.
import { generateKeyPairSync } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { depsFromEnv, loadBoxAuth } from '../../functions/deps.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { putGeneratedObject, startLocalS3, startTransfer } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import { BoxClient } from '../../src/box/index.ts';
import type { BoxAuth, TokenEndpoint } from '../../src/box/index.ts';
import { createJsonLogger } from '../../src/transfer/logger.ts';

const BUCKET = 'secret-bucket';
const DEV_TOKEN = 'dev-TOKEN-7f3a9c21e5';
const CLIENT_SECRET = 'client-SECRET-b81d4e6f02';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s3-to-box/test/box-AbCdEf';
const { privateKey: PRIVATE_KEY } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
/** A line of the key's body: distinctive, and what a leak would show. */
const KEY_BODY = PRIVATE_KEY.split('\n')[3] ?? '';

const smMock = mockClient(SecretsManagerClient);
let s3: LocalS3;
let box: BoxEmulator;
let lines: string[];
let issued: string[];
let restoreOutput: () => void;

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  box = await startBoxEmulator({ tokens: [DEV_TOKEN], clientId: 'app-id', clientSecret: CLIENT_SECRET, partSize: 64 * 1024, minChunkedFileSize: 100_000 });
  await putGeneratedObject(s3.client, { bucket: BUCKET, key: 'in/big.bin', size: 300_000 });
  lines = [];
  issued = [];
  // Anything written to the process's output during these tests counts as a log line too.
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  restoreOutput = () => {
    out.mockRestore();
    err.mockRestore();
  };
});
afterAll(async () => {
  restoreOutput?.();
  smMock.restore();
  await box?.close();
  await s3?.close();
});

/** Records every access token the auth hands out, to look for them afterwards. */
function recording(auth: BoxAuth): BoxAuth {
  return {
    getAccessToken: async (endpoint: TokenEndpoint) => {
      const t = await auth.getAccessToken(endpoint);
      issued.push(t);
      return t;
    },
    renewAfterUnauthorized: async (endpoint: TokenEndpoint, refused: string) => {
      const t = await auth.renewAfterUnauthorized(endpoint, refused);
      if (t !== undefined) issued.push(t);
      return t;
    },
  };
}

/** Runs one transfer through the state machine with the Lambdas' own deps from `env`; the answer as text. */
async function transferWith(env: Record<string, string>): Promise<string> {
  const logger = createJsonLogger({ level: 'debug', write: (line) => lines.push(line) });
  const base = { BOX_API_URL: box.url, BOX_UPLOAD_URL: box.uploadUrl, AWS_REGION: 'eu-west-1', ...env };
  const deps = depsFromEnv(base, { logger, s3: s3.client });
  const auth = recording(await loadBoxAuth(base));
  const client = new BoxClient({ auth, apiUrl: box.url, uploadUrl: box.uploadUrl, retry: { maxAttempts: 2, baseDelayMs: 1 } });
  try {
    const execution = startTransfer({ source: { bucket: BUCKET, key: 'in/big.bin' }, destination: { folderId: '0', fileName: `f-${lines.length}.bin` } }, { deps: { ...deps, box: async () => client }, waitTimeScale: 0 });
    const answer = await execution.result.then(
      (output) => JSON.stringify(output),
      (error: Error & { cause?: unknown }) => JSON.stringify({ name: error.name, message: error.message, cause: String(error.cause ?? '') }),
    );
    const history = await execution.history;
    return `${answer}\n${JSON.stringify(history.events)}`;
  } finally {
    await client.close();
  }
}

function expectNoSecret(texts: string[]): void {
  const all = texts.join('\n');
  expect(all).not.toContain(DEV_TOKEN);
  expect(all).not.toContain(CLIENT_SECRET);
  expect(all).not.toContain(KEY_BODY);
  expect(all).not.toContain('PRIVATE KEY');
  expect(all).not.toMatch(/Bearer\s/);
  for (const token of new Set(issued)) expect(all).not.toContain(token);
}

describe('nothing secret in any log or answer', () => {
  it('a full transfer with client credentials (CCG): tokens issued and used, none logged or answered', async () => {
    const answer = await transferWith({ BOX_CLIENT_ID: 'app-id', BOX_CLIENT_SECRET: CLIENT_SECRET, BOX_ENTERPRISE_ID: '42' });
    expect(answer).toContain('"size":300000');
    expect(issued.length).toBeGreaterThan(0);
    expect(lines.length).toBeGreaterThan(0);
    expectNoSecret([answer, ...lines]);
  });

  it('a wrong developer token: Box.Unauthorized, neither the wrong nor the right token appears', async () => {
    const answer = await transferWith({ BOX_DEVELOPER_TOKEN: `${DEV_TOKEN}-wrong` });
    expect(answer).toContain('Box.Unauthorized');
    expectNoSecret([answer, ...lines]);
    expect([answer, ...lines].join('\n')).not.toContain(`${DEV_TOKEN}-wrong`);
  });

  it('a wrong client secret: Box.AuthFailed, the secret does not appear', async () => {
    const answer = await transferWith({ BOX_CLIENT_ID: 'app-id', BOX_CLIENT_SECRET: `${CLIENT_SECRET}-wrong`, BOX_ENTERPRISE_ID: '42' });
    expect(answer).toContain('Box.AuthFailed');
    expectNoSecret([answer, ...lines]);
    expect([answer, ...lines].join('\n')).not.toContain(`${CLIENT_SECRET}-wrong`);
  });

  it('a bad JWT key in the secret: a configuration error that names no part of the key or the secret', async () => {
    // The key cut short: it does not parse (Box would refuse a wrong key at the token endpoint, which
    // the emulator does not check, so this is the failure the Lambdas themselves meet).
    const keyLines = PRIVATE_KEY.trim().split('\n');
    const broken = [...keyLines.slice(0, 6), keyLines.at(-1)].join('\n');
    smMock.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ boxAppSettings: { clientID: 'app-id', clientSecret: CLIENT_SECRET, appAuth: { publicKeyID: 'kid', privateKey: broken, passphrase: 'pass-PHRASE-x1' } }, enterpriseID: '42' }),
    });
    const error = await loadBoxAuth({ BOX_SECRET_ARN: ARN }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('Transfer.ConfigurationError');
    const answer = JSON.stringify({ name: error?.name, message: error?.message, cause: String((error as { cause?: unknown })?.cause ?? '') });
    expectNoSecret([answer, ...lines]);
    expect(answer).not.toContain('pass-PHRASE-x1');
  });
});
