// The token renewal is shared by every request in the process (one in-flight fetch), so it must not run
// inside the request budget of whichever invocation happened to start it: that invocation's deadline
// cancels its own wait, never the renewal the other invocations are waiting on.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBoxEmulator, type BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, CcgAuth } from '../../src/box/index.ts';
import { withRequestBudget, type RequestBudget } from '../../src/box/budget.ts';
import { rejection } from '../support/rejection.ts';

let box: BoxEmulator | undefined;
let client: BoxClient | undefined;
afterEach(async () => {
  await client?.close();
  await box?.close();
  box = client = undefined;
});

function budget(): RequestBudget & { end(): void } {
  const controller = new AbortController();
  return { remainingMs: () => 600_000, signal: controller.signal, end: () => controller.abort(new Error('invocation deadline')) };
}

describe('the shared token renewal and the invocations\' request budgets', () => {
  it('a tight budget that triggered the renewal is cancelled alone; the other invocation gets its token', async () => {
    box = await startBoxEmulator();
    client = new BoxClient({
      auth: new CcgAuth({ clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret', enterpriseId: '1' }),
      apiUrl: box.url,
      uploadUrl: box.uploadUrl,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const shared = client;
    let release!: () => void;
    box.faults.inject({ operation: 'token', nth: 1, action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });

    const tight = budget();
    const roomy = budget();
    // The tight invocation asks first: its request starts the token fetch, which the emulator holds.
    const first = withRequestBudget(tight, () => shared.folders.listItems('0'));
    const firstFailed = rejection(first);
    await vi.waitFor(() => expect(box?.stats().requests.token).toBe(1), { timeout: 30_000, interval: 20 });
    const second = withRequestBudget(roomy, () => shared.folders.listItems('0'));
    tight.end();
    // Its own wait is cancelled (not the shared token request).
    expect(await firstFailed).toMatchObject({ name: 'Box.Aborted', request: expect.not.stringContaining('oauth2') });
    release();
    await expect(second).resolves.toMatchObject({ entries: expect.any(Array) });
    expect(box.stats().requests.token).toBe(1); // the one shared renewal, not a second fetch
  });
});
