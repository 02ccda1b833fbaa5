// The Lambdas' Powertools seam, with the real Powertools Logger and Metrics writing to stdout as they do
// in Lambda: JSON lines with cold start, request id and the correlation ids; EMF metrics of the results;
// failures counted by error name; nothing credential-like in a line. Without telemetry nothing is printed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import { makeDescribeFailureHandler } from '../../functions/describeFailure.ts';
import { measureSyncBatch } from '../../functions/syncBatch.ts';
import { createTelemetry, METRIC, portLogger } from '../../functions/observability.ts';
import type { Telemetry } from '../../functions/observability.ts';
import { makeTask } from '../../functions/task.ts';
import type { HandlerDeps } from '../../functions/deps.ts';
import { depsFromEnv } from '../../functions/deps.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import { localS3Client } from '../../local/runner/local-s3-client.ts';
import { pinSource, readRange } from '../../src/transfer/s3source.ts';
import { startS3FaultProxy } from '../support/s3-fault-proxy.ts';
import { startTestS3, testBytes } from '../transfer/helpers.ts';

let lines: string[];
let invocation = 0;

beforeEach(() => {
  lines = [];
  // Powertools writes through a Console bound to process.stdout and stderr (warnings, errors): every
  // line passes here. Lambda tells an on-demand container so; Powertools counts cold starts only then.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      return true;
    });
  }
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const parsed = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const logLines = (): Record<string, unknown>[] => parsed().filter((l) => l._aws === undefined);
const emf = (): Record<string, unknown>[] => parsed().filter((l) => l._aws !== undefined);

function lambdaContext(): Context {
  return {
    awsRequestId: `req-${++invocation}`,
    functionName: 's3-to-box-dev-uploadBatch',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:s3-to-box-dev-uploadBatch',
    memoryLimitInMB: '1024',
    getRemainingTimeInMillis: () => 60_000,
  } as Context;
}

function depsWith(telemetry: Telemetry): HandlerDeps {
  return { s3: {} as never, box: async () => ({}) as never, logger: portLogger(telemetry.logger), telemetry };
}

const executionId = 'arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-dev:exports-2026-11-abc';
const transfer = { source: { bucket: 'exports', key: 'big/file.bin' }, session: { id: 'SESSION1' } };

describe('Powertools around every task handler', () => {
  it('logs JSON with cold start, request id and the correlation ids; emits the result as EMF metrics', async () => {
    const telemetry = createTelemetry({ POWERTOOLS_LOG_LEVEL: 'INFO' });
    const handler = makeTask('UploadBatch', depsWith(telemetry), async (_event: unknown, d) => {
      d.logger.info('part stored', { part: 3, accessToken: 'SECRET-VALUE' });
      return { parts: 4, bytes: 4096, alreadyUploaded: 1 };
    }, {
      summary: (r) => ({ parts: r.parts }),
      measure: (r) => [
        { name: METRIC.bytesTransferred, unit: 'Bytes', value: r.bytes },
        { name: METRIC.partsUploaded, unit: 'Count', value: r.parts - r.alreadyUploaded },
      ],
    });
    await handler({ executionId, transfer, batch: 2 }, lambdaContext());
    await handler({ executionId, transfer, batch: 3 }, lambdaContext());

    expect(lines.join('\n')).not.toContain('SECRET-VALUE');
    const logs = logLines();
    const first = logs.find((l) => l.message === 'part stored');
    expect(first).toMatchObject({
      level: 'INFO',
      service: 's3-to-box',
      cold_start: true,
      function_name: 's3-to-box-dev-uploadBatch',
      function_request_id: `req-${invocation - 1}`,
      task: 'UploadBatch',
      executionId,
      executionName: 'exports-2026-11-abc',
      bucket: 'exports',
      key: 'big/file.bin',
      sessionId: 'SESSION1',
      part: 3,
    });
    expect(first).not.toHaveProperty('accessToken');
    const done = logs.filter((l) => l.message === 'UploadBatch succeeded');
    expect(done.map((l) => l.cold_start)).toEqual([true, false]);
    expect(done[1]).toMatchObject({ parts: 4, function_request_id: `req-${invocation}` });

    const metrics = emf();
    const coldStart = metrics.filter((m) => 'ColdStart' in m);
    expect(coldStart).toHaveLength(1);
    expect(coldStart[0]).toMatchObject({ service: 's3-to-box', function_name: 's3-to-box-dev-uploadBatch', ColdStart: 1 });
    const results = metrics.filter((m) => 'BytesTransferred' in m);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ service: 's3-to-box', BytesTransferred: 4096, PartsUploaded: 3 });
    expect(results[0]?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: 'S3ToBox',
          Dimensions: [['service']],
          Metrics: expect.arrayContaining([
            { Name: 'BytesTransferred', Unit: 'Bytes' },
            { Name: 'PartsUploaded', Unit: 'Count' },
          ]),
        },
      ],
    });
  });

  it('a failed invocation logs the error by name and still flushes; DescribeFailure counts failures by error name', async () => {
    const telemetry = createTelemetry({ LOG_LEVEL: 'warn' });
    const failing = makeTask('Commit', depsWith(telemetry), async () => {
      throw Object.assign(new Error('parts do not match'), { name: 'Box.PartsMismatch' });
    });
    await expect(failing({ executionId, transfer }, lambdaContext())).rejects.toThrow('parts do not match');
    expect(logLines()).toEqual([
      expect.objectContaining({ level: 'ERROR', message: 'Commit failed', error: { name: 'Box.PartsMismatch', message: 'parts do not match' } }),
    ]);

    lines = [];
    const describe = makeDescribeFailureHandler(depsWith(telemetry));
    const result = await describe(
      { executionId, input: { source: transfer.source, destination: { folderId: '1' } }, state: { transfer: transfer as never, error: { Error: 'Transfer.SourceChanged', Cause: 'changed' } } },
      lambdaContext(),
    );
    expect(result).toMatchObject({ error: 'Transfer.SourceChanged' });
    const failed = emf().filter((m) => 'TransfersFailed' in m);
    expect(failed).toEqual([expect.objectContaining({ ErrorName: 'Transfer.SourceChanged', TransfersFailed: 1, service: 's3-to-box' })]);
    expect(failed[0]?._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: 'S3ToBox', Dimensions: [['service', 'ErrorName']] }] });
    // Level WARN: the INFO "succeeded" line is not printed.
    expect(logLines()).toEqual([]);
  });

  it('a failed invocation reports the metrics of the work it did before failing (measureFailure)', async () => {
    const telemetry = createTelemetry({ LOG_LEVEL: 'error' });
    const failing = makeTask('UploadBatch', depsWith(telemetry), async () => {
      throw Object.assign(new Error('out of time'), { name: 'Transfer.Deadline', sent: 8192 });
    }, {
      measureFailure: (err) => [{ name: METRIC.bytesTransferred, unit: 'Bytes', value: (err as { sent: number }).sent }],
    });
    await expect(failing({ executionId, transfer, batch: 1 }, lambdaContext())).rejects.toThrow('out of time');
    expect(emf().filter((m) => 'BytesTransferred' in m)).toEqual([expect.objectContaining({ BytesTransferred: 8192, service: 's3-to-box' })]);
  });

  it('SyncBatch counts the small objects it copied or failed itself, and nothing for skipped or handed-over ones', async () => {
    const telemetry = createTelemetry({ POWERTOOLS_LOG_LEVEL: 'INFO' });
    const failure = (name: string) => ({ error: { name, message: 'm' }, resumable: false });
    const result = {
      results: [
        { key: 'a', outcome: 'copied' as const, bytes: 100, path: 'a' },
        { key: 'b', outcome: 'copied' as const, bytes: 250, path: 'b' },
        { key: 'c', outcome: 'skipped' as const, bytes: 999, path: 'c', reason: 'same-sha1' },
        { key: 'd', outcome: 'failed' as const, bytes: 5, path: 'd', failure: failure('Transfer.SourceTooLarge') },
        { key: 'e', outcome: 'failed' as const, bytes: 5, path: 'e', failure: failure('Transfer.SourceTooLarge') },
        { key: 'f', outcome: 'failed' as const, bytes: 5, path: 'f', failure: failure('Transfer.InvalidInput') },
      ],
      transfers: [{ key: 'g', path: 'g', bytes: 50_000_000, input: {} as never, name: 'object-g', identity: {} as never }],
    };
    const handler = makeTask('SyncBatch', depsWith(telemetry), async () => result, { measure: measureSyncBatch });
    await handler({}, lambdaContext());
    const metrics = emf();
    expect(metrics.filter((m) => 'BytesTransferred' in m)).toEqual([expect.objectContaining({ BytesTransferred: 350, TransfersSucceeded: 2 })]);
    const failed = metrics.filter((m) => 'TransfersFailed' in m).map((m) => [m.ErrorName, m.TransfersFailed]);
    expect(failed.sort()).toEqual([['Transfer.InvalidInput', 1], ['Transfer.SourceTooLarge', 2]]);
    // Only skipped or handed-over objects: nothing to count.
    lines.length = 0;
    const onlySkipped = { results: [result.results[2] as (typeof result.results)[number]], transfers: result.transfers };
    await makeTask('SyncBatch', depsWith(telemetry), async () => onlySkipped, { measure: measureSyncBatch })({}, lambdaContext());
    expect(emf().filter((m) => 'BytesTransferred' in m || 'TransfersSucceeded' in m || 'TransfersFailed' in m)).toEqual([]);
  });

  it('without telemetry (the local runner, the CLI) Powertools prints nothing', async () => {
    const handler = makeTask('Prepare', {}, async () => ({ ok: true }), {
      measure: () => [{ name: METRIC.transfersSucceeded, unit: 'Count', value: 1 }],
    });
    expect(await handler({ executionId }, lambdaContext())).toEqual({ ok: true });
    expect(lines).toEqual([]);
  });

  it('startTransfer without its configuration logs the refusal through Powertools, with the request id, not as a bare JSON line', async () => {
    vi.stubEnv('STATE_MACHINE_ARN', '');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const { handler } = await import('../../functions/startTransfer.ts');
    const event = { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'exports' }, object: { key: 'a.bin', size: 1, sequencer: '01' } } }] };
    await expect(handler(event, lambdaContext() as never)).rejects.toMatchObject({ name: 'Transfer.ConfigurationError' });
    const refusal = logLines().find((l) => l.message === 'S3 event failed');
    expect(refusal).toMatchObject({
      level: 'ERROR',
      service: 's3-to-box',
      function_request_id: `req-${invocation}`,
      task: 'StartTransfer',
      error: { name: 'Transfer.ConfigurationError', message: expect.stringContaining('STATE_MACHINE_ARN is not set') as unknown },
    });
  });

  it('counts each S3 range the lean reader left to the SDK as S3LeanFallbacks and logs why; a read it served counts nothing', async () => {
    const s3 = await startTestS3(['lean-fallbacks']);
    const proxy = await startS3FaultProxy(s3.endpoint);
    const client = localS3Client(proxy.endpoint);
    try {
      await s3.put('lean-fallbacks', 'obj.bin', testBytes(300_000, 3));
      const telemetry = createTelemetry({ POWERTOOLS_LOG_LEVEL: 'INFO' });
      const deps = depsFromEnv({ AWS_REGION: 'us-east-1', BOX_DEVELOPER_TOKEN: 'unused' }, { telemetry, s3: client });
      const source = await pinSource(deps.s3, { bucket: 'lean-fallbacks', key: 'obj.bin' });
      // Served lean: nothing counted.
      expect(await readRange(deps.s3, source, 0, 1000)).toEqual(testBytes(300_000, 3).subarray(0, 1000));
      expect(telemetry.metrics.hasStoredMetrics()).toBe(false);
      // S3 answers the lean GET 503: the SDK reads the range (and a while after, the endpoint is the SDK's alone).
      proxy.inject({ method: 'GET', range: 'bytes=1000-1999', times: 1 });
      expect(await readRange(deps.s3, source, 1000, 1000)).toEqual(testBytes(300_000, 3).subarray(1000, 2000));
      telemetry.metrics.publishStoredMetrics();
      const fallbacks = emf().filter((m) => METRIC.s3LeanFallbacks in m);
      expect(fallbacks).toHaveLength(1);
      expect([fallbacks[0]?.[METRIC.s3LeanFallbacks]].flat().reduce((n: number, v) => n + Number(v), 0)).toBe(1);
      expect(logLines().find((l) => l.message === 'S3 range read left to the SDK')).toMatchObject({ level: 'INFO', reason: 'answer', status: 503, handed: 0, range: 'bytes=1000-1999' });
    } finally {
      client.destroy();
      await proxy.close();
      await s3.close();
    }
  });

  it('counts every Box request the client retries as BoxRetries (the hook on the Box client\'s retry line), and nothing without retries', async () => {
    const emu = await startBoxEmulator();
    try {
      // Box answers the first two folder reads 503: the client retries twice, then succeeds.
      emu.faults.inject({ operation: 'getFolder', nth: 1, times: 2, action: { type: 'status', status: 503, code: 'unavailable' } });
      const telemetry = createTelemetry({ POWERTOOLS_LOG_LEVEL: 'ERROR' });
      const deps = depsFromEnv({ AWS_REGION: 'eu-west-1', BOX_DEVELOPER_TOKEN: emu.token, BOX_API_URL: emu.url, BOX_UPLOAD_URL: emu.uploadUrl }, { telemetry });
      const box = await deps.box();
      try {
        expect((await box.folders.getFolder('0')).id).toBe('0');
        expect(emu.stats().requests.getFolder).toBe(3);
        telemetry.metrics.publishStoredMetrics();
        const retries = emf().filter((m) => METRIC.boxRetries in m);
        expect(retries).toHaveLength(1);
        expect([retries[0]?.[METRIC.boxRetries]].flat().reduce((n: number, v) => n + Number(v), 0)).toBe(2);
        expect(retries[0]?._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: 'S3ToBox', Metrics: [{ Name: METRIC.boxRetries, Unit: 'Count' }] }] });

        lines.length = 0;
        await box.folders.getFolder('0');
        expect(telemetry.metrics.hasStoredMetrics()).toBe(false);
      } finally {
        await (box as { close?: () => Promise<void> }).close?.();
      }
    } finally {
      await emu.close();
    }
  });
});
