// The Box secret read (Secrets Manager GetSecretValue on a cold start) against a loopback Secrets Manager
// endpoint that accepts the connection and never answers: an invocation waits for it only within its own
// request budget (Transfer.Deadline, retried), and outside any budget the read ends at the client's request
// timeout (Transfer.Deadline too), never at a Lambda's timeout.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depsFromEnv, loadBoxAuth } from '../../functions/deps.ts';
import { withRequestBudget } from '../../src/box/budget.ts';
import { timedRequestBudget } from '../../src/transfer/request-budget.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { rejection } from '../support/rejection.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s3-to-box/test/box-AbCdEf';
let server: net.Server;
const sockets: net.Socket[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', () => undefined); // reads the request, never answers
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  env = {
    BOX_SECRET_ARN: ARN,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  // The SDK's default credential chain reads the process environment.
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Waits until the stand-in has accepted at least `n` connections (the read really was sent). */
async function connections(n: number): Promise<number> {
  for (let i = 0; i < 400 && sockets.length < n; i++) await new Promise((r) => setTimeout(r, 25));
  return sockets.length;
}

describe('the Box secret read', { timeout: 60_000 }, () => {
  it("a hanging GetSecretValue on a cold start ends each invocation's wait at its own budget (Transfer.Deadline); the next one waits again", async () => {
    // A long request timeout: only the budget can end these waits.
    const deps = depsFromEnv({ ...env, BOX_SECRET_REQUEST_TIMEOUT_MS: '30000' }, { logger: silentLogger });
    const before = sockets.length;
    for (const ms of [500, 300]) {
      const budget = timedRequestBudget(ms);
      const started = Date.now();
      const error = await rejection(withRequestBudget(budget, () => deps.box()));
      budget.dispose();
      expect(error).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining('Box credentials (Secrets Manager GetSecretValue of BOX_SECRET_ARN)') as unknown });
      // Ended by the budget, not by the 30 s request timeout (a generous bound for a loaded machine).
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    // The read was sent, once for both invocations: the second waited on the same shared read.
    expect(await connections(before + 1)).toBe(before + 1);
  });

  it('outside any budget, a GetSecretValue that never answers ends at the request timeout with Transfer.Deadline (retried), after 3 attempts', async () => {
    const before = sockets.length;
    const started = Date.now();
    const error = await rejection(loadBoxAuth({ ...env, BOX_SECRET_REQUEST_TIMEOUT_MS: '300' }));
    expect(error).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining('Secrets Manager did not answer in time') as unknown });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(sockets.length - before).toBe(3);
  });
});
