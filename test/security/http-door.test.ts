// Bad input at the HTTP door (POST /transfers), and nothing secret in its answers or logs: each bad
// request is a named error saying what to fix, answered before Step Functions is called; a failing
// start answers without the caller's signature, session token or any internals.
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeStartTransferHandler } from '../../functions/startTransfer.ts';
import { createJsonLogger } from '../../src/transfer/logger.ts';
import { MAX_REQUEST_BODY_BYTES } from '../../src/trigger/http.ts';
import { parseRoutes } from '../../src/trigger/routes.ts';
import { httpEvent, lambdaContext } from '../trigger/events.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-test';
const SIGNATURE = 'f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE-SESSION-TOKEN-9d8c7b';
const SIGNED = {
  Authorization: `AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY123/20261201/eu-west-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIGNATURE}`,
  'X-Amz-Security-Token': SESSION_TOKEN,
};

let client: SFNClient;
let sfn: ReturnType<typeof mockClient>;
let lines: string[];
let call: (event: ReturnType<typeof httpEvent>) => Promise<{ statusCode: number; json: { error: string; message: string }; raw: string }>;

beforeEach(() => {
  client = new SFNClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  sfn = mockClient(client);
  lines = [];
  const handler = makeStartTransferHandler({
    sfn: client,
    stateMachineArn: STATE_MACHINE_ARN,
    routes: parseRoutes('[]'),
    logger: createJsonLogger({ level: 'debug', write: (line) => lines.push(line) }),
  });
  call = async (event) => {
    const res = (await handler(event, lambdaContext())) as { statusCode: number; body: string };
    return { statusCode: res.statusCode, json: JSON.parse(res.body) as { error: string; message: string }, raw: res.body };
  };
});
afterEach(() => {
  sfn.restore();
  client.destroy();
});

const good = { source: { bucket: 'exports', key: 'in/a.bin' }, destination: { folderId: '1' } };

describe('POST /transfers: bad input is refused with a named error, before Step Functions is called', () => {
  it.each([
    ['not JSON', { rawBody: '{"source": ' }, 400, 'Transfer.InvalidInput', 'not valid JSON'],
    ['a missing field', { body: { source: { bucket: 'exports' }, destination: { folderId: '1' } } }, 400, 'Transfer.InvalidInput', 'source.key is required'],
    ['a wrongly typed field', { body: { ...good, destination: { folderId: 12 } } }, 400, 'Transfer.InvalidInput', 'destination.folderId must be a string'],
    ['an unknown field', { body: { ...good, owner: 'me' } }, 400, 'Transfer.InvalidInput', 'owner is not a known field'],
    ['an unknown nested field', { body: { ...good, source: { ...good.source, region: 'x' } } }, 400, 'Transfer.InvalidInput', 'source.region is not a known field'],
    ['a key ending in /', { body: { ...good, source: { bucket: 'exports', key: 'in/folder/' } } }, 400, 'Transfer.InvalidInput', 'destination.fileName is required'],
    ['a name over 255 characters', { body: { ...good, destination: { folderId: '1', fileName: 'x'.repeat(256) } } }, 400, 'Transfer.InvalidInput', 'at most 255 characters'],
    ['a name with /', { body: { ...good, destination: { folderId: '1', fileName: 'a/b' } } }, 400, 'Transfer.InvalidInput', 'destination.fileName must not contain'],
    ['a name with \\', { body: { ...good, destination: { folderId: '1', fileName: 'a\\b' } } }, 400, 'Transfer.InvalidInput', 'destination.fileName must not contain'],
    ['a name with a leading space', { body: { ...good, destination: { folderId: '1', fileName: ' a' } } }, 400, 'Transfer.InvalidInput', 'start or end with a space'],
    ['a name with a trailing space', { body: { ...good, destination: { folderId: '1', fileName: 'a ' } } }, 400, 'Transfer.InvalidInput', 'start or end with a space'],
    ['the name .', { body: { ...good, destination: { folderId: '1', fileName: '.' } } }, 400, 'Transfer.InvalidInput', "be '.' or '..'"],
    ['the name ..', { body: { ...good, destination: { folderId: '1', fileName: '..' } } }, 400, 'Transfer.InvalidInput', "be '.' or '..'"],
    ['a name with a control character', { body: { ...good, destination: { folderId: '1', fileName: 'a\u0007b' } } }, 400, 'Transfer.InvalidInput', 'control characters'],
    ['a body over the limit', { rawBody: JSON.stringify({ ...good, pad: 'x'.repeat(MAX_REQUEST_BODY_BYTES) }) }, 413, 'Http.PayloadTooLarge', `at most ${MAX_REQUEST_BODY_BYTES} are accepted`],
    ['a base64 body over the limit', { rawBody: 'y'.repeat(MAX_REQUEST_BODY_BYTES + 10), base64: true }, 413, 'Http.PayloadTooLarge', 'The request body has'],
  ] as const)('%s', async (_what, request, status, error, message) => {
    const res = await call(httpEvent({ ...request, headers: SIGNED }));
    expect({ status: res.statusCode, error: res.json.error }).toEqual({ status, error });
    expect(res.json.message).toContain(message);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    for (const text of [res.raw, ...lines]) {
      expect(text).not.toContain(SIGNATURE);
      expect(text).not.toContain(SESSION_TOKEN);
    }
  });

  it('accepts keys with spaces, +, %, unicode as they are (not URL-decoded), and a body at the limit', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() }));
    const key = 'in/März 2026 a+b 100%.bin';
    const res = await call(httpEvent({ body: { ...good, source: { bucket: 'exports', key } }, headers: SIGNED }));
    expect(res.statusCode).toBe(202);
    const started = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input as { input: string };
    expect(JSON.parse(started.input)).toMatchObject({ source: { key } });
  });

  it('a failing start answers and logs without the request signature, session token or internals', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/s3-to-box-startTransfer/fn is not authorized to perform: states:StartExecution'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const res = await call(httpEvent({ body: good, headers: SIGNED }));
    expect(res.statusCode).toBeGreaterThanOrEqual(500);
    expect(res.json.error).toMatch(/^Transfer\.|^Internal$/);
    for (const text of [res.raw, ...lines]) {
      expect(text).not.toContain(SIGNATURE);
      expect(text).not.toContain(SESSION_TOKEN);
      expect(text).not.toContain('AKIAEXAMPLEKEY123');
    }
    expect(lines.length).toBeGreaterThan(0); // the failure was logged
  });
});
