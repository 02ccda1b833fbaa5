// The trigger's pure core: routing, event parsing and key decoding, execution names, input building.
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidInputError } from '../../src/transfer/errors.ts';
import { planObject } from '../../src/trigger/start.ts';
import { decodeS3EventKey, parseEventBridgeS3Event, parseS3Notification, triggerEventKind } from '../../src/trigger/events.ts';
import type { CreatedObject } from '../../src/trigger/events.ts';
import {
  executionArnFor,
  executionNameForIdempotencyKey,
  executionNameForObject,
  isValidExecutionName,
  randomExecutionName,
} from '../../src/trigger/names.ts';
import { matchRoute, parseRoutes } from '../../src/trigger/routes.ts';
import { eventBridgeEvent, s3Notification } from './events.ts';

describe('TRANSFER_ROUTES', () => {
  it('parses routes, defaulting prefix to every key', () => {
    expect(parseRoutes('[{"bucket":"exports","folderId":"12"},{"bucket":"exports","prefix":"fin/","folderId":"34","onConflict":"rename"}]')).toEqual([
      { bucket: 'exports', prefix: '', folderId: '12', layout: 'mirror' },
      { bucket: 'exports', prefix: 'fin/', folderId: '34', onConflict: 'rename', layout: 'mirror' },
    ]);
    expect(parseRoutes('[{"bucket":"exports","folderId":"12","layout":"flat"},{"bucket":"exports","prefix":"a","folderId":"1","layout":"{dir}-{stem}{ext}"}]').map((r) => r.layout)).toEqual([
      'flat',
      '{dir}-{stem}{ext}',
    ]);
    expect(parseRoutes(undefined)).toEqual([]);
    expect(parseRoutes('  ')).toEqual([]);
    expect(parseRoutes('[]')).toEqual([]);
  });

  it.each([
    ['{', 'TRANSFER_ROUTES: is not valid JSON'],
    ['{"bucket":"b"}', 'TRANSFER_ROUTES: must be a JSON array of routes'],
    ['[1]', 'TRANSFER_ROUTES: routes[0] must be an object'],
    ['[{"bucket":"exports","folderId":"1"},{"bucket":"exports","folderId":"x1"}]', 'TRANSFER_ROUTES: routes[1].folderId must be a string of digits'],
    ['[{"bucket":"exports","folderId":1}]', 'TRANSFER_ROUTES: routes[0].folderId must be a string of digits'],
    ['[{"bucket":"Ex","folderId":"1"}]', 'TRANSFER_ROUTES: routes[0].bucket must be an S3 bucket name'],
    ['[{"folderId":"1"}]', 'TRANSFER_ROUTES: routes[0].bucket must be an S3 bucket name'],
    ['[{"bucket":"exports","folderId":"1","prefix":3}]', 'TRANSFER_ROUTES: routes[0].prefix must be a string'],
    ['[{"bucket":"exports","folderId":"1","onConflict":"overwrite"}]', 'TRANSFER_ROUTES: routes[0].onConflict must be one of "version", "rename", "fail"'],
    ['[{"bucket":"exports","folderId":"1","folder":"2"}]', 'TRANSFER_ROUTES: routes[0].folder is not a known field (known: bucket, prefix, folderId, onConflict, layout)'],
    ['[{"bucket":"exports","folderId":"1","layout":3}]', 'TRANSFER_ROUTES: routes[0].layout must be "mirror", "flat" or a file name template'],
    ['[{"bucket":"exports","folderId":"1","layout":"tree"}]', 'TRANSFER_ROUTES: routes[0].layout must be "mirror", "flat" or a file name template using {dir}, {name}, {stem}, {ext}'],
    ['[{"bucket":"exports","folderId":"1","layout":"{key}.bin"}]', 'TRANSFER_ROUTES: routes[0].layout uses {key}: the placeholders are {dir}, {name}, {stem}, {ext}'],
    ['[{"bucket":"exports","folderId":"1","layout":"{dir}/{name}"}]', 'TRANSFER_ROUTES: routes[0].layout must not contain "/" or "\\" (a template names a file, not folders)'],
    ['[{"bucket":"exports","folderId":"1","layout":"{name}}"}]', 'TRANSFER_ROUTES: routes[0].layout has an unmatched "{" or "}"'],
    ['[{"bucket":"exports","folderId":"1","prefix":"a/"},{"bucket":"exports","folderId":"2","prefix":"a/"}]', 'TRANSFER_ROUTES: routes[1] has the same bucket and prefix as routes[0]'],
  ])('refuses %s with a Transfer.ConfigurationError naming the field', (json, message) => {
    let thrown: unknown;
    try {
      parseRoutes(json);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).name).toBe('Transfer.ConfigurationError');
    expect((thrown as Error).message).toBe(message);
  });

  it('picks the longest matching prefix of the bucket, whatever the order', () => {
    const routes = parseRoutes(
      JSON.stringify([
        { bucket: 'exports', folderId: '1' },
        { bucket: 'exports', prefix: 'fin/2026/', folderId: '3' },
        { bucket: 'exports', prefix: 'fin/', folderId: '2' },
        { bucket: 'other-bucket', prefix: 'fin/', folderId: '9' },
      ]),
    );
    expect(matchRoute(routes, 'exports', 'fin/2026/q1.csv')?.folderId).toBe('3');
    expect(matchRoute(routes, 'exports', 'fin/2025/q1.csv')?.folderId).toBe('2');
    expect(matchRoute(routes, 'exports', 'hr/list.csv')?.folderId).toBe('1');
    expect(matchRoute(routes, 'other-bucket', 'hr/list.csv')).toBeUndefined();
    expect(matchRoute(routes, 'unrouted', 'fin/a')).toBeUndefined();
  });
});

describe('S3 event keys', () => {
  it.each([
    ['red+flower.jpg', 'red flower.jpg'],
    ['c%2B%2B+notes.txt', 'c++ notes.txt'],
    ['dir/a%3Ab%2Cc%3D1.bin', 'dir/a:b,c=1.bin'],
    ['%C3%A9t%C3%A9+2026%2F%E6%97%A5.txt', 'été 2026/日.txt'],
    ['100%25.txt', '100%.txt'],
    ['plain/key.bin', 'plain/key.bin'],
  ])('decodes %s to %s', (encoded, key) => {
    expect(decodeS3EventKey(encoded)).toBe(key);
  });

  it('refuses a malformed encoding as Transfer.InvalidInput', () => {
    expect(() => decodeS3EventKey('bad%zz')).toThrow(InvalidInputError);
  });
});

describe('event parsing', () => {
  it('tells the event kinds apart', () => {
    expect(triggerEventKind(s3Notification([{ bucket: 'exports', key: 'a' }]))).toBe('s3-notification');
    expect(triggerEventKind(eventBridgeEvent({ bucket: 'exports', key: 'a' }))).toBe('eventbridge');
    expect(triggerEventKind({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'exports' })).toBe('s3-test-event');
    expect(triggerEventKind({ version: '2.0', routeKey: 'POST /transfers', requestContext: { http: { method: 'POST' } } })).toBe('http');
    expect(triggerEventKind({ hello: 1 })).toBe('unknown');
    expect(triggerEventKind(null)).toBe('unknown');
    expect(triggerEventKind([{ Records: [] }])).toBe('unknown');
    // API Gateway REST API / payload 1.0, and load balancer requests: HTTP, but not the format served.
    expect(triggerEventKind({ httpMethod: 'POST', path: '/transfers', requestContext: { requestId: 'r' } })).toBe('http-unsupported');
    expect(triggerEventKind({ version: '1.0', requestContext: { http: { method: 'POST' } } })).toBe('http-unsupported');
  });

  it('ignores a record whose key is not validly URL-encoded, and records of unknown shape, keeping the others', () => {
    const event = s3Notification([
      { bucket: 'exports', key: 'in/100%.bin', sequencer: '0A' },
      { bucket: 'exports', key: 'in/ok.bin', sequencer: '0B' },
    ]);
    event.Records.push(42, { eventSource: 'aws:sqs', body: '{}' }, { eventSource: 'aws:s3', s3: { bucket: { name: 'exports' }, object: { key: 7 } } });
    const { objects, ignored } = parseS3Notification(event);
    expect(objects.map((o) => o.key)).toEqual(['in/ok.bin']);
    expect(ignored).toEqual([
      { reason: 'S3 event key "in/100%.bin" is not validly URL-encoded', bucket: 'exports' },
      { reason: 'not an S3 object record' },
      { reason: 'not an S3 object record' },
      { reason: 'not an S3 object record', bucket: 'exports' },
    ]);
    const bridged = parseEventBridgeS3Event(eventBridgeEvent({ bucket: 'exports', key: 'in/%C3.bin' }));
    expect(bridged).toEqual({ objects: [], ignored: [{ reason: 'S3 event key "in/%C3.bin" is not validly URL-encoded', bucket: 'exports' }] });
  });

  it('reads S3 notifications: decoded keys, pinned versions, non-creations ignored', () => {
    const event = s3Notification([
      { bucket: 'exports', key: 'in/big+file.bin', versionId: 'v1', sequencer: '0A', eTag: 'e1', size: 5 },
      { bucket: 'exports', key: 'in/gone.bin', eventName: 'ObjectRemoved:Delete' },
      { bucket: 'exports', key: 'in/unversioned.bin', versionId: 'null', sequencer: '0B' },
    ]);
    const { objects, ignored } = parseS3Notification(event);
    expect(objects).toEqual([
      { bucket: 'exports', key: 'in/big file.bin', versionId: 'v1', sequencer: '0A', eTag: 'e1', size: 5, eventName: 'ObjectCreated:Put', via: 's3-notification' },
      { bucket: 'exports', key: 'in/unversioned.bin', sequencer: '0B', eventName: 'ObjectCreated:Put', via: 's3-notification' },
    ]);
    expect(ignored).toEqual([{ reason: 'event ObjectRemoved:Delete is not an object creation', bucket: 'exports', key: 'in/gone.bin' }]);
  });

  it('reads EventBridge Object Created events, decoding the key and pinning version-id', () => {
    const { objects } = parseEventBridgeS3Event(eventBridgeEvent({ bucket: 'exports', key: 'in/q1+report%2B.pdf', versionId: 'v7', sequencer: '617f', eTag: 'abc' }));
    expect(objects).toEqual([
      { bucket: 'exports', key: 'in/q1 report+.pdf', versionId: 'v7', sequencer: '617f', eTag: 'abc', size: 5, eventName: 'PutObject', via: 'eventbridge' },
    ]);
    const deleted = parseEventBridgeS3Event({ ...eventBridgeEvent({ bucket: 'exports', key: 'x' }), 'detail-type': 'Object Deleted' });
    expect(deleted.objects).toEqual([]);
    expect(deleted.ignored[0]?.reason).toBe('EventBridge Object Deleted is not an object creation');
  });
});

describe('execution names', () => {
  const object: CreatedObject = { bucket: 'exports', key: 'in/big file (1).bin', sequencer: '0055AED6DCD90281E5', via: 's3-notification' };

  it('are deterministic, readable, at most 80 characters of [A-Za-z0-9-_]', () => {
    const name = executionNameForObject(object);
    expect(name).toBe(executionNameForObject({ ...object, via: 'eventbridge', size: 10 }));
    expect(name).toMatch(/^s3-big-file-1-bin-[0-9a-f]{32}$/);
    const long = executionNameForObject({ ...object, key: `${'x'.repeat(900)}/${'é-ü '.repeat(200)}.bin` });
    expect(long).toBeDefined();
    expect(long!.length).toBeLessThanOrEqual(80);
    expect(isValidExecutionName(long!)).toBe(true);
    const symbols = executionNameForObject({ ...object, key: '%%%/###' });
    expect(symbols).toMatch(/^s3-[0-9a-f]{32}$/);
  });

  it('differ for another version, write, bucket or key', () => {
    const base = executionNameForObject(object);
    expect(executionNameForObject({ ...object, sequencer: '0055AED6DCD90281E6' })).not.toBe(base);
    expect(executionNameForObject({ ...object, bucket: 'exports2' })).not.toBe(base);
    expect(executionNameForObject({ ...object, key: 'in/big file (2).bin' })).not.toBe(base);
    // A version id wins over the sequencer: the same version is the same transfer.
    const v = { ...object, versionId: 'v1' };
    expect(executionNameForObject({ ...v, sequencer: 'other' })).toBe(executionNameForObject(v));
    // Without version or sequencer, the ETag; with none of them, no deterministic name.
    expect(executionNameForObject({ bucket: 'b', key: 'k', eTag: 'e', via: 'eventbridge' })).toMatch(/^s3-k-[0-9a-f]{32}$/);
    expect(executionNameForObject({ bucket: 'b', key: 'k', via: 'eventbridge' })).toBeUndefined();
  });

  it('come from the Idempotency-Key for HTTP requests, or are random', () => {
    const a = executionNameForIdempotencyKey('order-42/retry');
    expect(a).toBe(executionNameForIdempotencyKey('order-42/retry'));
    expect(a).toMatch(/^http-order-42-retry-[0-9a-f]{32}$/);
    expect(executionNameForIdempotencyKey('order-42-retry')).not.toBe(a);
    expect(executionNameForIdempotencyKey('k'.repeat(255)).length).toBeLessThanOrEqual(80);
    expect(() => executionNameForIdempotencyKey('has space')).toThrow(/Idempotency-Key header must be 1-255 printable ASCII/);
    expect(() => executionNameForIdempotencyKey('k'.repeat(256))).toThrow(InvalidInputError);
    const r = randomExecutionName('http');
    expect(isValidExecutionName(r)).toBe(true);
    expect(r).not.toBe(randomExecutionName('http'));
  });

  it('give execution ARNs under the state machine', () => {
    expect(executionArnFor('arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-prod', 'n1')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-prod:n1',
    );
  });
});

describe('planObject', () => {
  const routes = parseRoutes('[{"bucket":"exports","prefix":"in/","folderId":"77","onConflict":"rename"}]');

  it('builds the TransferInput, pinning the version', () => {
    expect(planObject({ bucket: 'exports', key: 'in/a.bin', versionId: 'v1', via: 'eventbridge' }, routes)).toEqual({
      input: {
        source: { bucket: 'exports', key: 'in/a.bin', versionId: 'v1', onlyIfCurrent: true },
        destination: { folderId: '77', fileName: 'a.bin' },
        onConflict: 'rename',
      },
      executionName: executionNameForObject({ bucket: 'exports', key: 'in/a.bin', versionId: 'v1', via: 'eventbridge' }),
      fromEvent: true,
    });
    // No version, sequencer or ETag: a random name, said so.
    const unnamed = planObject({ bucket: 'exports', key: 'in/a.bin', via: 'eventbridge' }, routes);
    expect(unnamed).toMatchObject({ executionName: expect.stringMatching(/^s3-[0-9a-f-]{36}$/) as unknown, fromEvent: false });
  });

  it('skips folder markers and unrouted objects', () => {
    expect(planObject({ bucket: 'exports', key: 'in/sub/', sequencer: '1', via: 'eventbridge' }, routes)).toEqual({ skip: 'folder marker (key ends with "/")' });
    expect(planObject({ bucket: 'exports', key: 'out/a.bin', sequencer: '1', via: 'eventbridge' }, routes)).toEqual({ skip: 'no route matches the bucket and key' });
  });

  it('maps names Box would reject instead of skipping them, and mirrors the folders below the prefix', () => {
    const plan = planObject({ bucket: 'exports', key: 'in/ sales /./q1//\\ trailing ', sequencer: '1', via: 'eventbridge' }, routes);
    expect('input' in plan && plan.input.destination).toEqual({ folderId: '77', folderPath: '_sales_/_/q1/_', fileName: '_ trailing_' });
  });
});

describe('route layouts', () => {
  const object = (key: string): CreatedObject => ({ bucket: 'exports', key, sequencer: '1', via: 'eventbridge' });
  const destination = (layout: string, key: string, prefix = 'in/'): unknown => {
    const plan = planObject(object(key), parseRoutes(JSON.stringify([{ bucket: 'exports', prefix, folderId: '5', layout }])));
    return 'input' in plan ? plan.input.destination : plan;
  };

  it('mirror (the default) keeps two keys with one name apart, in subfolders below the prefix', () => {
    expect(destination('mirror', 'in/sales/report.csv')).toEqual({ folderId: '5', folderPath: 'sales', fileName: 'report.csv' });
    expect(destination('mirror', 'in/hr/report.csv')).toEqual({ folderId: '5', folderPath: 'hr', fileName: 'report.csv' });
    expect(destination('mirror', 'in/report.csv')).toEqual({ folderId: '5', fileName: 'report.csv' });
    // Mirrored folders start below the prefix's last '/': a prefix "in/sa" keeps "sales".
    expect(destination('mirror', 'in/sales/q1/r.csv', 'in/sa')).toEqual({ folderId: '5', folderPath: 'sales/q1', fileName: 'r.csv' });
  });

  it('flat puts every key in the folder by its last segment (two keys with one name become versions: the route says so)', () => {
    expect(destination('flat', 'in/sales/report.csv')).toEqual({ folderId: '5', fileName: 'report.csv' });
    expect(destination('flat', 'in/hr/report.csv')).toEqual({ folderId: '5', fileName: 'report.csv' });
  });

  it('a template names the file from the key', () => {
    expect(destination('{dir}_{name}', 'in/sales/q1/report.csv')).toEqual({ folderId: '5', fileName: 'sales_q1_report.csv' });
    expect(destination('{stem} ({dir}){ext}', 'in/hr/report.csv')).toEqual({ folderId: '5', fileName: 'report (hr).csv' });
    expect(destination('{dir}_{name}', 'in/report.csv')).toEqual({ folderId: '5', fileName: '_report.csv' });
    // The result is mapped like any name from a key.
    expect(destination('{name} ', 'in/a.csv')).toEqual({ folderId: '5', fileName: 'a.csv_' });
  });
});
