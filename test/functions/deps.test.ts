// Handler dependencies from the environment: Box credentials (Secrets Manager or BOX_* variables),
// cached across invocations, never in messages or logs; S3 client settings; structured logs.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { generateKeyPairSync } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authFromSecret, depsFromEnv, loadBoxAuth, once, s3ConfigFromEnv } from '../../functions/deps.ts';
import { makeTaskHandlers } from '../../functions/index.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, CcgAuth, DeveloperTokenAuth, JwtAuth } from '../../src/box/index.ts';
import type { PrepareResult, TransferOutput } from '../../src/transfer/contract.ts';
import { createJsonLogger } from '../../src/transfer/logger.ts';
import { lambdaContext, startTestS3, testBytes } from '../transfer/helpers.ts';
import type { TestS3 } from '../transfer/helpers.ts';

const SECRET_TOKEN = 'tok-SECRET-4c1d9e';
const smMock = mockClient(SecretsManagerClient);
afterEach(() => smMock.reset());

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('Box credentials', () => {
  it('reads a developer token, client credentials, or a JWT app settings JSON', () => {
    expect(authFromSecret({ developerToken: SECRET_TOKEN })).toBeInstanceOf(DeveloperTokenAuth);
    expect(authFromSecret({ clientId: 'id', clientSecret: 'cs', enterpriseId: '42' })).toBeInstanceOf(CcgAuth);
    expect(authFromSecret({ clientId: 'id', clientSecret: 'cs', userId: '7' })).toBeInstanceOf(CcgAuth);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const app = { boxAppSettings: { clientID: 'cid', clientSecret: 'cs', appAuth: { publicKeyID: 'kid', privateKey } }, enterpriseID: '123' };
    expect(authFromSecret(app)).toBeInstanceOf(JwtAuth);
  });

  it('names what is missing without echoing values', async () => {
    const e1 = await errorOf(() => authFromSecret({ clientId: 'id', clientSecret: 'very-secret-value' }));
    expect(e1.name).toBe('Transfer.ConfigurationError');
    expect(e1.message).toContain('enterpriseId or userId');
    expect(e1.message).not.toContain('very-secret-value');
    const e2 = await errorOf(() => authFromSecret({ password: 'very-secret-value' }));
    expect(e2.message).not.toContain('very-secret-value');
    const e3 = await errorOf(loadBoxAuth({}));
    expect(e3.message).toMatch(/BOX_SECRET_ARN, BOX_DEVELOPER_TOKEN/);
  });

  it('a secret that is not JSON is reported without its text', async () => {
    smMock.on(GetSecretValueCommand).resolves({ SecretString: `not json ${SECRET_TOKEN}` });
    const err = await errorOf(loadBoxAuth({ BOX_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:box' }));
    expect(err).toMatchObject({ name: 'Transfer.ConfigurationError' });
    expect(err.message).not.toContain(SECRET_TOKEN);
    expect(err.cause).toBeUndefined();
  });

  it('once() caches success and retries after a failure', async () => {
    let calls = 0;
    const get = once(async () => {
      calls++;
      if (calls === 1) throw new Error('first fails');
      return calls;
    });
    await expect(get()).rejects.toThrow('first fails');
    expect(await get()).toBe(2);
    expect(await get()).toBe(2);
    expect(calls).toBe(2);
  });

  it('S3 settings for a local endpoint', () => {
    expect(s3ConfigFromEnv({ S3_ENDPOINT: 'http://127.0.0.1:9', S3_FORCE_PATH_STYLE: 'true' })).toEqual({
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    expect(s3ConfigFromEnv({})).toEqual({ requestChecksumCalculation: 'WHEN_REQUIRED' });
  });
});

describe('depsFromEnv against s3rver and the Box emulator', () => {
  let s3: TestS3;
  let emu: BoxEmulator;
  const saved = { ...process.env };
  beforeAll(async () => {
    s3 = await startTestS3(['env-bucket']);
    emu = await startBoxEmulator({ tokens: [SECRET_TOKEN] });
    // The S3 SDK takes region and credentials from the process environment, as in Lambda.
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  });
  afterAll(async () => {
    process.env = saved;
    await emu?.close();
    await s3?.close();
  });

  it('fetches the secret once across invocations, uploads, and never logs the token', async () => {
    smMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ developerToken: SECRET_TOKEN }) });
    const env = {
      BOX_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:box',
      BOX_API_URL: emu.url,
      BOX_UPLOAD_URL: emu.uploadUrl,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      TRANSFER_HASH_RANGES_IN_FLIGHT: '2',
    };
    const lines: string[] = [];
    const deps = depsFromEnv(env, { logger: createJsonLogger({ level: 'debug', write: (l) => lines.push(l) }) });
    // One 429 on the first direct upload: the Box client's retry warning must come through the same logger.
    emu.faults.inject({ operation: 'uploadFile', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 0 } });
    expect(deps.settings).toEqual({ hashRangesInFlight: 2 });
    const h = makeTaskHandlers(deps);
    const bytes = testBytes(2000, 3);
    await s3.put('env-bucket', 'in/a.txt', bytes);
    const outputs: TransferOutput[] = [];
    for (const name of ['a.txt', 'b.txt']) {
      const ctx = lambdaContext();
      const prepared = (await h.Prepare({ source: { bucket: 'env-bucket', key: 'in/a.txt' }, destination: { folderId: '0', fileName: name } }, ctx)) as PrepareResult;
      outputs.push((await h.DirectUpload(prepared, ctx)) as TransferOutput);
    }
    expect(outputs.map((o) => o.file.name)).toEqual(['a.txt', 'b.txt']);
    expect((await emu.readFileContent(outputs[1]!.file.id)).equals(bytes)).toBe(true);
    expect(smMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(await deps.box()).toBeInstanceOf(BoxClient);

    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toMatchObject({ level: expect.any(String), message: expect.any(String), time: expect.any(String) });
      expect(line).not.toContain(SECRET_TOKEN);
    }
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.some((e) => e.level === 'warn' && e.component === 'box')).toBe(true);
    const done = entries.filter((e) => e.message === 'DirectUpload succeeded');
    expect(done[0]).toMatchObject({ task: 'DirectUpload', bucket: 'env-bucket', key: 'in/a.txt', requestId: expect.stringMatching(/^test-/), fileId: outputs[0]!.file.id });
  });
});

describe('createJsonLogger', () => {
  it('writes one JSON object per line and drops credential-like fields', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ write: (l) => lines.push(l), fields: { task: 'T' } }).child({ sessionId: 'S' });
    log.info('hello', { token: 'x', clientSecret: 'y', Authorization: 'z', bytes: 5 });
    log.debug('hidden at info level');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', message: 'hello', task: 'T', sessionId: 'S', bytes: 5 });
    expect(Object.keys(entry)).not.toContain('token');
    expect(Object.keys(entry)).not.toContain('clientSecret');
    expect(Object.keys(entry)).not.toContain('Authorization');
  });

  it('takes its level from LOG_LEVEL, where silent turns it off', () => {
    const saved = process.env.LOG_LEVEL;
    try {
      const lines: string[] = [];
      process.env.LOG_LEVEL = 'silent';
      createJsonLogger({ write: (l) => lines.push(l) }).error('not shown');
      process.env.LOG_LEVEL = 'warn';
      const warnOnly = createJsonLogger({ write: (l) => lines.push(l) });
      warnOnly.info('not shown either');
      warnOnly.warn('shown');
      expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['shown']);
    } finally {
      if (saved === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = saved;
    }
  });
});
