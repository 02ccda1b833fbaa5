// Secret rotation: Box credentials from Secrets Manager (Powertools Parameters over a mocked
// SecretsManagerClient) against the Box emulator's real token endpoint. A cached secret that Box refuses
// is read again once, at once; an unchanged secret raises the refusal after that one read; a secret
// past its time to live is read again without any refusal.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadBoxAuth } from '../../functions/deps.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient } from '../../src/box/index.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s3-to-box/test/box-AbCdEf';
const smMock = mockClient(SecretsManagerClient);
let box: BoxEmulator;
const clients: BoxClient[] = [];

beforeAll(async () => {
  box = await startBoxEmulator({ clientId: 'app-id', clientSecret: 'rotated-secret', tokens: ['current-dev-token'] });
});
afterEach(async () => {
  smMock.reset();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await box?.close();
});

/** Secrets Manager answers these values, one per read; the last one again after that. */
function secretValues(...values: object[]): () => number {
  let reads = 0;
  smMock.on(GetSecretValueCommand, { SecretId: ARN }).callsFake(() => {
    const value = values[Math.min(reads, values.length - 1)];
    reads++;
    return { SecretString: JSON.stringify(value) };
  });
  return () => reads;
}

async function clientFor(env: Record<string, string> = {}): Promise<BoxClient> {
  const auth = await loadBoxAuth({ BOX_SECRET_ARN: ARN, ...env });
  const client = new BoxClient({ auth, apiUrl: box.url, uploadUrl: box.uploadUrl, retry: { maxAttempts: 1 } });
  clients.push(client);
  return client;
}

const ccg = (clientSecret: string) => ({ clientId: 'app-id', clientSecret, enterpriseId: '4242' });

describe('Box credentials from Secrets Manager (Powertools Parameters)', () => {
  it('client credentials rotated in Box: the token request fails once, the secret is read again, the call succeeds', async () => {
    const reads = secretValues(ccg('old-secret'), ccg('rotated-secret'));
    const client = await clientFor();
    expect(reads()).toBe(1);
    await expect(client.folders.listItems('0')).resolves.toMatchObject({ entries: expect.any(Array) });
    expect(reads()).toBe(2);
    expect(box.stats().requests.token).toBeGreaterThanOrEqual(2); // the refused one, then the new secret's
  });

  it('a secret that is still wrong after the one re-read: Box.AuthFailed, without reading again and again', async () => {
    const reads = secretValues(ccg('wrong-secret'));
    const client = await clientFor();
    await expect(client.folders.listItems('0')).rejects.toMatchObject({ name: 'Box.AuthFailed' });
    expect(reads()).toBe(2);
    await expect(client.folders.listItems('0')).rejects.toMatchObject({ name: 'Box.AuthFailed' });
    expect(reads()).toBe(3); // one forced read per refusal, never a loop
  });

  it('a developer token that Box no longer accepts (401): the secret is read again and the request resent with the new token', async () => {
    const reads = secretValues({ developerToken: 'revoked-dev-token' }, { developerToken: 'current-dev-token' });
    const client = await clientFor();
    await expect(client.folders.getFolder('0')).resolves.toMatchObject({ id: '0' });
    expect(reads()).toBe(2);
    // Still unchanged: Box.Unauthorized after the one re-read.
    const stuck = secretValues({ developerToken: 'revoked-dev-token' });
    const client2 = await clientFor();
    await expect(client2.folders.getFolder('0')).rejects.toMatchObject({ name: 'Box.Unauthorized' });
    expect(stuck()).toBe(2);
  });

  it('concurrent refusals share one re-read', async () => {
    const reads = secretValues(ccg('old-secret'), ccg('rotated-secret'));
    const client = await clientFor();
    await Promise.all([...Array(5).keys()].map(() => client.folders.listItems('0')));
    expect(reads()).toBe(2);
  });

  it('keeps the secret for BOX_SECRET_MAX_AGE_SECONDS, then reads it again without any refusal', async () => {
    const reads = secretValues({ developerToken: 'current-dev-token' }, ccg('rotated-secret'));
    const client = await clientFor({ BOX_SECRET_MAX_AGE_SECONDS: '1' });
    await client.folders.getFolder('0');
    await client.folders.getFolder('0');
    expect(reads()).toBe(1); // cached
    const tokensBefore = box.stats().requests.token;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await client.folders.getFolder('0');
    expect(reads()).toBe(2);
    expect(box.stats().requests.token).toBe(tokensBefore + 1); // the new secret's client credentials are in use
  });
});
