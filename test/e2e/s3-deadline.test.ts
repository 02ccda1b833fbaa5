// S3 requests that hang as a Task nears its Lambda timeout, through the whole local state machine: S3 (a
// fault proxy in front of s3rver) holds one HeadObject or ranged GET, or stalls its body, and never lets
// go. The first invocation of the Task under test has its request budget end once S3 holds that request
// (as M11b's clock runs out after its parts: no wall clock decides whether the request was reached in
// time): the request is cancelled there, the invocation ends with Transfer.Deadline, the state machine
// retries it (with the usual budget, the Lambda's remaining time less 5 s), and the bytes in Box are
// exact. The runner enforces the Lambda's timeout (Sandbox.Timedout, as in AWS): a budget that failed to
// cut the request would show that instead.
import { afterEach, describe, expect, it } from 'vitest';
import { makeTaskHandlers } from '../../functions/index.ts';
import type { TaskName } from '../../functions/index.ts';
import type { TransferEvent } from '../../local/runner/index.ts';
import type { TransferInput } from '../../src/transfer/contract.ts';
import { deadlineOf } from '../../src/transfer/deadline.ts';
import type { DeadlineSource } from '../../src/transfer/deadline.ts';
import { resolveSettings } from '../../src/transfer/settings.ts';
import type { TransferSettings } from '../../src/transfer/settings.ts';
import { proxiedS3 } from '../support/held-s3.ts';
import type { S3FaultProxy, S3FaultRule } from '../support/s3-fault-proxy.ts';
import { spendableDeadline } from '../support/spendable-budget.ts';
import { BUCKET, inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const PART = 64 * 1024;
const SIZE = 6 * PART + 100; // 7 parts
const SMALL = 50_000; // a direct upload
/** The Lambda timeout of the Task under test, enforced by the runner: reached only if the budget failed to cut. */
const LAMBDA_MS = 30_000;
const never = new Promise<void>(() => undefined);

let env: E2eEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});
const proxied = proxiedS3();

async function setUp(settings: Partial<TransferSettings> = {}) {
  // Parts may start until the very end (the default start margin, 120 s, is longer than these Lambdas).
  env = await startEnv({
    emulator: { partSize: PART, minChunkedFileSize: 100_000 },
    settings: { directUploadMax: 100_000, deadlineStartMarginMs: 0, hashSafetyMarginMs: 0, ...settings },
  });
  const { proxy, client } = await proxied(env.s3.endpoint);
  return { e: env, proxy, deps: { ...env.deps, s3: client } };
}

/**
 * The first invocation's budget ends once S3 holds (or stalls) a request and `ready` has settled; later
 * ones get the usual deadline.
 */
function endsOnceHeld(proxy: S3FaultProxy, settings: Partial<TransferSettings>, ready: Promise<void>): DeadlineSource {
  let invocations = 0;
  return (context) => {
    if (++invocations > 1) return deadlineOf(context, resolveSettings(settings));
    const deadline = spendableDeadline();
    void Promise.all([proxy.stalledAtLeast(1), ready]).then(() => deadline.spend());
    return deadline;
  };
}

function failures(events: TransferEvent[], state: string): string[] {
  return events.flatMap((ev) => (ev.type === 'state-failed' && ev.state === state ? [ev.error] : []));
}

/**
 * Runs `input` with S3 faulted by `rule` and `state`'s Lambda timeout enforced; checks the bytes Box holds.
 * `cutOnceHashed`: the budget ends only once the first invocation has also hashed that many bytes.
 */
async function survives(
  state: TaskName,
  key: string,
  size: number,
  rule: S3FaultRule,
  settings: Partial<TransferSettings> = {},
  input?: (folderId: string) => TransferInput,
  cutOnceHashed = 0,
) {
  const { e, proxy, deps } = await setUp(settings);
  const folder = await e.box.createFolder(`f-${key}`);
  const put = await e.put(key, size);
  proxy.inject(rule);
  let hashed!: () => void;
  const ready = new Promise<void>((resolve) => (hashed = resolve));
  if (cutOnceHashed === 0) hashed();
  const underTest = makeTaskHandlers({
    ...deps,
    deadline: endsOnceHeld(proxy, settings, ready),
    onProgress: (event) => {
      deps.onProgress?.(event);
      if (event.type === 'hashed' && event.offset >= cutOnceHashed) hashed();
    },
  })[state];
  const execution = e.start(input?.(folder.id) ?? inputFor(key, folder.id, { options: { partsPerBatch: 7, concurrency: 2 } }), {
    deps,
    handlers: { [state]: underTest },
    lambdaTimeoutMs: { [state]: LAMBDA_MS },
  });
  const output = await execution.result;
  expect(output).toMatchObject({ bytes: size, file: { sha1: put.sha1, name: key } });
  expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size });
  // S3 held the request until its client gave up: the budget cancelled it, the Lambda was never killed.
  expect(proxy.stats()).toMatchObject({ stalled: 1 });
  await proxy.abandonedAtLeast(1);
  expect(failures(execution.events, state)).not.toContain('Sandbox.Timedout');
  return { e, execution };
}

describe('M12b S3 requests inside each Task\'s request budget, through the state machine', () => {
  it('Prepare: its HeadObject held by S3 is cancelled before the Lambda timeout (Transfer.Deadline); the retry pins the source', async () => {
    const { execution } = await survives('Prepare', 'prepare.bin', SIZE, { method: 'HEAD', times: 1, action: { type: 'hold', until: never } });
    expect(failures(execution.events, 'Prepare')).toEqual(['Transfer.Deadline']);
    expect(taskRuns(execution.events)['Prepare']).toBe(2);
  }, 60_000);

  it('UploadBatch: a part read whose body stalls is cut (Transfer.Deadline); the retry lists the parts and sends only the rest', async () => {
    const { e, execution } = await survives('UploadBatch', 'batch.bin', SIZE, {
      method: 'GET',
      range: `bytes=${3 * PART}-${4 * PART - 1}`,
      times: 1,
      action: { type: 'stallBody', bytes: 1000 },
    });
    expect(failures(execution.events, 'UploadBatch')).toEqual(['Transfer.Deadline']);
    expect(taskRuns(execution.events)['UploadBatch']).toBe(2);
    expect(e.box.stats().requests.uploadPart).toBe(7); // no part sent twice
    expect(e.box.listSessions().map((s) => s.status)).toEqual(['committed']);
  }, 60_000);

  it('HashObject: the first read held by S3, nothing hashed yet: Transfer.Deadline, retried', async () => {
    const { execution } = await survives('HashObject', 'hash-first.bin', SIZE, { method: 'GET', range: `bytes=0-${SIZE - 1}`, times: 1, action: { type: 'hold', until: never } });
    expect(failures(execution.events, 'HashObject')).toEqual(['Transfer.Deadline']);
  }, 60_000);

  it('HashObject: a later read held by S3 after some bytes were hashed: the slice ends there with its state saved, no failure', async () => {
    const CHUNK = 32 * 1024;
    const { execution } = await survives(
      'HashObject',
      'hash-later.bin',
      SIZE,
      { method: 'GET', range: `bytes=${CHUNK}-${2 * CHUNK - 1}`, times: 1, action: { type: 'hold', until: never } },
      { hashRangeBytes: CHUNK, hashSliceBytes: 4 * CHUNK },
      undefined,
      CHUNK,
    );
    expect(failures(execution.events, 'HashObject')).toEqual([]);
    const progress = execution.events.flatMap((ev) => (ev.type === 'hash-progress' ? [ev.bytes] : []));
    expect(progress[0]).toBe(CHUNK); // the first slice kept the chunk it had hashed before the held one
    expect(progress.at(-1)).toBe(SIZE);
  }, 60_000);

  it('DirectUpload: its read held by S3: Transfer.Deadline before anything reached Box; the retry uploads the file once', async () => {
    const { e, execution } = await survives('DirectUpload', 'small.bin', SMALL, { method: 'GET', range: `bytes=0-${SMALL - 1}`, times: 1, action: { type: 'hold', until: never } });
    expect(failures(execution.events, 'DirectUpload')).toEqual(['Transfer.Deadline']);
    expect(e.box.stats().requests.uploadFile).toBe(1);
  }, 60_000);

  it('Commit: the newest-write HeadObject (onlyIfCurrent) held by S3: Transfer.Deadline before the commit request; the retry commits once', async () => {
    const { e, execution } = await survives(
      'Commit',
      'current.bin',
      SIZE,
      // The second HeadObject: the first is Prepare's pin.
      { method: 'HEAD', nth: 2, times: 1, action: { type: 'hold', until: never } },
      {},
      (folderId) => ({ source: { bucket: BUCKET, key: 'current.bin', onlyIfCurrent: true }, destination: { folderId }, options: { partsPerBatch: 7 } }),
    );
    expect(failures(execution.events, 'Commit')).toEqual(['Transfer.Deadline']);
    expect(e.box.stats().requests.commit).toBe(1);
    expect(e.box.listSessions().map((s) => s.status)).toEqual(['committed']);
  }, 60_000);
});
