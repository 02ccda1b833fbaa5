// What the request-budget tests of S3 share: an S3 client that reaches a local S3 through the fault proxy
// (both closed after each test), and a request budget spent once the proxy holds a request, so no clock
// decides whether the request was reached before the budget ended.
import type { S3Client } from '@aws-sdk/client-s3';
import { afterEach } from 'vitest';
import { localS3Client } from '../../local/runner/index.ts';
import { withRequestBudget } from '../../src/box/budget.ts';
import { rejection } from './rejection.ts';
import { startS3FaultProxy } from './s3-fault-proxy.ts';
import type { S3FaultProxy } from './s3-fault-proxy.ts';
import { spendableBudget } from './spendable-budget.ts';

export interface ProxiedS3 {
  proxy: S3FaultProxy;
  /** The real S3 client (SDK retries included), through the proxy. */
  client: S3Client;
}

/**
 * A starter of proxied clients for one test file: each is closed after its test. `leanReads: false`: the hash
 * reads through the SDK alone (a fault meant for the SDK's path is not met first by src/transfer/leanGet.ts).
 */
export function proxiedS3(): (endpoint: string, options?: { leanReads?: boolean }) => Promise<ProxiedS3> {
  let open: ProxiedS3 | undefined;
  afterEach(async () => {
    const current = open;
    open = undefined;
    current?.client.destroy();
    await current?.proxy.close();
  });
  return async (endpoint, options = {}) => {
    const proxy = await startS3FaultProxy(endpoint);
    open = { proxy, client: localS3Client(proxy.endpoint, undefined, options) };
    return open;
  };
}

/** Runs `work` in a fresh budget, spends it once the proxy has held `held` requests in all, and returns the rejection. */
export async function cutOnceHeld(proxy: S3FaultProxy, held: number, work: () => Promise<unknown>): Promise<unknown> {
  const budget = spendableBudget();
  const running = rejection(withRequestBudget(budget, work));
  await proxy.stalledAtLeast(held);
  budget.spend();
  return running;
}
