// Nothing secret in any log or answer: a full transfer (with a retried Box request), a JWT transfer,
// failed authentications (a wrong developer token, a wrong client secret, a JWT key Box does not know,
// an unreadable JWT key) and their failure documents, and failing triggers (POST /transfers and an S3
// event whose start fails), with every line the Lambdas write captured: Powertools Logger at DEBUG with
// event logging on (POWERTOOLS_LOGGER_LOG_EVENT), its EMF metrics, and anything else written to
// stdout/stderr. Checked for the developer token, the client secret, the private keys, every access token
// Box issued, any Authorization header value, and the API caller's SigV4 signature and session token.
import { generateKeyPairSync } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { depsFromEnv, loadBoxAuth, once } from '../../functions/deps.ts';
import { createTelemetry, portLogger } from '../../functions/observability.ts';
import type { Telemetry } from '../../functions/observability.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { putGeneratedObject, startLocalS3, startTransfer } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import { BoxClient } from '../../src/box/index.ts';
import type { BoxAuth, TokenEndpoint } from '../../src/box/index.ts';
import type { BoxClientLike } from '../../src/transfer/boxPort.ts';
import { httpEvent, lambdaContext, s3Notification } from '../trigger/events.ts';

const BUCKET = 'secret-bucket';
const DEV_TOKEN = 'dev-TOKEN-7f3a9c21e5';
const CLIENT_SECRET = 'client-SECRET-b81d4e6f02';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s3-to-box/test/box-AbCdEf';
const keyPair = (): { privateKey: string; publicKey: string } =>
  generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
/** The JWT app's key, registered with the emulator as "kid"; OTHER_KEY is a valid key Box does not know. */
const { privateKey: PRIVATE_KEY, publicKey: PUBLIC_KEY } = keyPair();
const OTHER_KEY = keyPair().privateKey;
const OTHER_KEY_BODY = OTHER_KEY.split('\n')[3] ?? '';
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
  box = await startBoxEmulator({ tokens: [DEV_TOKEN], clientId: 'app-id', clientSecret: CLIENT_SECRET, jwtPublicKeys: { kid: PUBLIC_KEY }, partSize: 64 * 1024, minChunkedFileSize: 100_000 });
  await putGeneratedObject(s3.client, { bucket: BUCKET, key: 'in/big.bin', size: 300_000 });
  lines = [];
  issued = [];
  // Powertools logs every incoming event when asked to: the hardest setting for this test.
  vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
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
  vi.unstubAllEnvs();
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

/** Powertools for one test, as in Lambda, at its most talkative. */
function telemetry(): Telemetry {
  return createTelemetry({ POWERTOOLS_LOG_LEVEL: 'DEBUG' });
}

/** The lines Powertools wrote (JSON with its service key), parsed. */
function powertoolsLines(): Record<string, unknown>[] {
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.service === 's3-to-box' || l._aws !== undefined);
}

/**
 * Runs one transfer through the state machine with the Lambdas' own deps from `env`, logging through
 * Powertools (the Box client through it too, as in Lambda); the answer and the execution history as text.
 */
async function transferWith(env: Record<string, string>): Promise<string> {
  const base = { BOX_API_URL: box.url, BOX_UPLOAD_URL: box.uploadUrl, AWS_REGION: 'eu-west-1', ...env };
  const t = telemetry();
  const deps = depsFromEnv(base, { telemetry: t, s3: s3.client });
  const boxLog = portLogger(t.logger).child({ component: 'box' });
  let client: BoxClient | undefined;
  // Built on first use, like the Lambdas' client: credentials that cannot be loaded fail inside Prepare.
  const boxClient = once(async (): Promise<BoxClientLike> => {
    const auth = recording(await loadBoxAuth(base));
    client = new BoxClient({
      auth,
      apiUrl: box.url,
      uploadUrl: box.uploadUrl,
      retry: { maxAttempts: 2, baseDelayMs: 1 },
      logger: { debug: (m, d) => boxLog.debug(m, d), warn: (m, d) => boxLog.warn(m, d) },
    });
    return client;
  });
  try {
    const execution = startTransfer({ source: { bucket: BUCKET, key: 'in/big.bin' }, destination: { folderId: '0', fileName: `f-${lines.length}.bin` } }, { deps: { ...deps, settings: { ...deps.settings, directUploadMax: 100_000 }, box: boxClient }, waitTimeScale: 0 });
    const answer = await execution.result.then(
      (output) => JSON.stringify(output),
      (error: Error & { cause?: unknown }) => JSON.stringify({ name: error.name, message: error.message, cause: String(error.cause ?? '') }),
    );
    const history = await execution.history;
    return `${answer}\n${JSON.stringify(history.events)}`;
  } finally {
    await client?.close();
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
    // One part answered 503 once: the client's retry logs the request it repeats.
    box.faults.inject({ operation: 'uploadPart', nth: 2, times: 1, action: { type: 'status', status: 503, code: 'unavailable' } });
    const answer = await transferWith({ BOX_CLIENT_ID: 'app-id', BOX_CLIENT_SECRET: CLIENT_SECRET, BOX_ENTERPRISE_ID: '42' });
    box.faults.clear();
    expect(answer).toContain('"size":300000');
    expect(issued.length).toBeGreaterThan(0);
    // What was captured is Powertools' output: the events it logged, the Box client's retry, EMF.
    const logged = powertoolsLines();
    expect(logged.some((l) => l.message === 'Lambda invocation event' && l.event !== undefined)).toBe(true);
    expect(logged.some((l) => l.component === 'box' && l.level === 'WARN')).toBe(true);
    expect(logged.some((l) => l._aws !== undefined)).toBe(true);
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

  it('JWT from the secret: the right key transfers; a key Box does not know fails with Box.AuthFailed; neither key, passphrase nor secret appears', async () => {
    const appSettings = (privateKey: string): string =>
      JSON.stringify({ boxAppSettings: { clientID: 'app-id', clientSecret: CLIENT_SECRET, appAuth: { publicKeyID: 'kid', privateKey, passphrase: 'pass-PHRASE-x1' } }, enterpriseID: '42' });
    smMock.on(GetSecretValueCommand).resolves({ SecretString: appSettings(PRIVATE_KEY) });
    const good = await transferWith({ BOX_SECRET_ARN: ARN });
    expect(good).toContain('"size":300000');
    smMock.on(GetSecretValueCommand).resolves({ SecretString: appSettings(OTHER_KEY) });
    const refused = await transferWith({ BOX_SECRET_ARN: ARN });
    expect(refused).toContain('Box.AuthFailed');
    expect(refused).toContain('Signature verification error');
    const all = [good, refused, ...lines];
    expectNoSecret(all);
    expect(all.join('\n')).not.toContain(OTHER_KEY_BODY);
    expect(all.join('\n')).not.toContain('pass-PHRASE-x1');
  });

  it('an unreadable JWT key in the secret: a configuration error that names no part of the key or the secret', async () => {
    // The key cut short: it does not parse, so the Lambdas fail before Box is asked.
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
    const direct = JSON.stringify({ name: error?.name, message: error?.message, cause: String((error as { cause?: unknown })?.cause ?? '') });
    // The same secret met by the Lambdas: Prepare fails, Powertools logs the failure and the execution's answer.
    const before = powertoolsLines().length;
    const answer = `${direct}\n${await transferWith({ BOX_SECRET_ARN: ARN })}`;
    expect(answer).toContain('Transfer.ConfigurationError');
    expect(powertoolsLines().slice(before).some((l) => l.level === 'ERROR' && String(l.message).includes('Prepare failed'))).toBe(true);
    expectNoSecret([answer, ...lines]);
    expect(answer).not.toContain('pass-PHRASE-x1');
  });

  it('failing triggers: neither the API caller\'s signature nor its session token is logged or answered, even with event logging on', async () => {
    const SIGNATURE = 'f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f';
    const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE-session-TOKEN-5c7e';
    const authorization = `AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID/20261124/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=${SIGNATURE}`;
    const headers = { Authorization: authorization, 'X-Amz-Security-Token': SESSION_TOKEN, 'X-Amz-Date': '20261124T030000Z' };
    // The deployed handler itself (functions/startTransfer.ts), its deps from the environment as in Lambda;
    // StartExecution goes to a port where nothing listens, so every start fails.
    vi.stubEnv('STATE_MACHINE_ARN', 'arn:aws:states:us-east-1:123456789012:stateMachine:s3-to-box-test');
    vi.stubEnv('TRANSFER_ROUTES', JSON.stringify([{ bucket: BUCKET, folderId: '0' }]));
    vi.stubEnv('SFN_ENDPOINT', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'aws-SECRET-access-key-3e9f');
    vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    const { handler } = await import('../../functions/startTransfer.ts');
    const before = powertoolsLines().length;
    const answers: string[] = [];
    const answerOf = async (event: unknown): Promise<void> => {
      answers.push(JSON.stringify(await handler(event, lambdaContext(`req-${answers.length}`) as never).catch((e: Error) => ({ thrown: e.name, message: e.message }))));
    };
    await answerOf(httpEvent({ headers, body: { source: { bucket: BUCKET, key: 'in/big.bin' }, destination: { folderId: '0' } } }));
    await answerOf(httpEvent({ headers, body: { source: { bucket: BUCKET, key: 'in/big.bin' }, destination: { folderId: 'x' }, extra: 1 } }));
    await answerOf(httpEvent({ headers, rawBody: '{not json' }));
    await answerOf(httpEvent({ headers, method: 'GET', path: '/secrets' }));
    await answerOf(s3Notification([{ bucket: BUCKET, key: 'in/big.bin', versionId: 'v1', sequencer: '01' }]));
    expect(answers[0]).toMatch(/"statusCode":5\d\d/);
    expect(answers[1]).toContain('"statusCode":400');
    expect(answers[4]).toContain('"thrown"');
    const logged = powertoolsLines().slice(before);
    expect(logged.some((l) => l.level === 'ERROR' && l.function_request_id === 'req-0')).toBe(true);
    expect(logged.some((l) => l.message === 'S3 event failed')).toBe(true);
    const all = [...answers, ...lines].join('\n');
    expect(all).not.toContain(SIGNATURE);
    expect(all).not.toContain(SESSION_TOKEN);
    expect(all).not.toContain('AWS4-HMAC-SHA256');
    expect(all).not.toContain('aws-SECRET-access-key-3e9f');
    expectNoSecret([...answers, ...lines]);
  });
});
