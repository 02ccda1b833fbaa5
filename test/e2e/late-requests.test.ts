// What `idle` covers and what it cannot: the runner's `idle` resolves once every invocation of a failed
// execution has returned, and none starts after the end. A request that an invocation gave up on (its
// batch failed in a way that made its other parts pointless, so it cancelled them) may still be acted on by Box after that, when its bytes
// had all been sent: Box does not know the client went away. A test that changes Box's behaviour after a
// failed run (clears an outage, resets counters) waits for the emulator's settled() first.
import { afterEach, describe, expect, it } from 'vitest';
import type { TransferExecutionError } from '../../local/runner/index.ts';
import { inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const PART = 64 * 1024;
const SIZE = 6 * PART + 100; // 7 parts

let env: E2eEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe('requests that outlive the run that sent them', () => {
  it('a part cancelled by its client after it was sent whole is stored after idle; settled() waits for it', async () => {
    env = await startEnv({ emulator: { partSize: PART, minChunkedFileSize: 100_000 }, settings: { directUploadMax: 100_000 } });
    const folder = await env.box.createFolder('late');
    await env.put('late.bin', SIZE);
    // Box holds the first part upload before reading its body, and refuses the token of every later one (401,
    // past the client's renewal): the batch fails, cancelling the held part on the client's side (a failure
    // such as a 5xx would let it finish first, and the run would wait for it).
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    env.box.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'hold', until: held } });
    env.box.faults.inject({ operation: 'uploadPart', nth: 2, times: 1_000_000, action: { type: 'status', status: 401 } });
    const run = env.start(inputFor('late.bin', folder.id, { options: { partsPerBatch: 7, concurrency: 2 } }));
    const error = (await run.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(error).toMatchObject({ name: 'Box.Unauthorized', failure: { resumable: true } });
    expect(taskRuns(run.events)['AbortSession']).toBeUndefined();
    await run.idle;

    // Every invocation has returned, yet Box is still handling the first part, which nobody waits for.
    expect(env.box.stats().partsInFlight).toBe(1);
    const [session] = env.box.listSessions();
    expect(session).toMatchObject({ status: 'open', partsUploaded: 0 });
    letGo();
    await env.box.settled();
    expect(env.box.stats().partsInFlight).toBe(0);
    expect(env.box.listSessions()).toEqual([expect.objectContaining({ id: session!.id, status: 'open', partsUploaded: 1 })]);
  }, 60_000);
});
