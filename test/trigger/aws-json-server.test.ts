// The AWS JSON 1.0 plumbing shared by the local Step Functions and SQS stand-ins (local/aws-json/server.ts):
// routing by X-Amz-Target, refusals of malformed requests with the service's codes, and errors as the SDK
// reads them (checked through the real @aws-sdk/client-sqs).
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsJsonError, startAwsJsonServer } from '../../local/aws-json/server.ts';
import type { AwsJsonServer } from '../../local/aws-json/server.ts';
import { startLocalSqs } from '../../local/sqs/index.ts';
import type { LocalSqs } from '../../local/sqs/index.ts';

describe('startAwsJsonServer', () => {
  let server: AwsJsonServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(requireJsonContentType = false): Promise<AwsJsonServer> {
    server = await startAwsJsonServer({
      targetPrefix: 'Test.',
      operations: {
        Echo: (body) => ({ got: body }),
        Later: async (body) => ({ later: body.n }),
        Refuse: () => {
          throw new AwsJsonError('NoSuchThing', 'there is no such thing', 404);
        },
        Break: () => {
          throw new Error('boom');
        },
      },
      unknownOperationCode: 'UnknownOp',
      malformedBodyCode: 'BadBody',
      requireJsonContentType,
      errorAnswer: (err) =>
        err instanceof AwsJsonError
          ? { status: err.status, body: { __type: err.code, message: err.message }, headers: { 'x-test-code': err.code } }
          : { status: 500, body: { __type: 'Internal', message: String((err as Error).message) } },
    });
    return server;
  }

  async function call(s: AwsJsonServer, target: string, body: string, contentType = 'application/x-amz-json-1.0') {
    const res = await fetch(s.endpoint, { method: 'POST', headers: { 'x-amz-target': target, 'content-type': contentType }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, code: res.headers.get('x-test-code'), requestId: res.headers.get('x-amzn-requestid') };
  }

  it('answers each operation by its target, sync or async, with a request id', async () => {
    const s = await start();
    expect(s.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await call(s, 'Test.Echo', '{"a":1}')).toMatchObject({ status: 200, body: { got: { a: 1 } }, requestId: expect.any(String) });
    expect(await call(s, 'Test.Later', '{"n":2}')).toMatchObject({ status: 200, body: { later: 2 } });
    expect(await call(s, 'Test.Echo', '')).toMatchObject({ status: 200, body: { got: {} } });
  });

  it('refuses an unknown target, a body that is not a JSON object, and (when asked) another content type', async () => {
    const s = await start(true);
    expect(await call(s, 'Other.Echo', '{}')).toMatchObject({ status: 400, body: { __type: 'UnknownOp', message: 'Unsupported operation Other.Echo' } });
    expect(await call(s, 'Test.Nope', '{}')).toMatchObject({ status: 400, code: 'UnknownOp' });
    expect(await call(s, 'Test.Echo', '{not json')).toMatchObject({ status: 400, body: { __type: 'BadBody', message: 'The request body is not valid JSON' } });
    expect(await call(s, 'Test.Echo', '[1]')).toMatchObject({ status: 400, body: { __type: 'BadBody', message: 'The request body must be a JSON object' } });
    expect(await call(s, 'Test.Echo', '{}', 'application/json')).toMatchObject({ status: 400, body: { __type: 'BadBody' } });
    const lax = await startAwsJsonServer(
      { targetPrefix: 'Test.', operations: { Echo: () => ({}) }, unknownOperationCode: 'U', malformedBodyCode: 'B', errorAnswer: () => ({ status: 400, body: {} }) },
      {},
    );
    try {
      expect((await call(lax, 'Test.Echo', '{}', 'application/json')).status).toBe(200);
    } finally {
      await lax.close();
    }
  });

  it("answers an operation's error in the service's shape: its own status and code, or a 500 for anything else", async () => {
    const s = await start();
    expect(await call(s, 'Test.Refuse', '{}')).toMatchObject({ status: 404, code: 'NoSuchThing', body: { __type: 'NoSuchThing', message: 'there is no such thing' } });
    expect(await call(s, 'Test.Break', '{}')).toMatchObject({ status: 500, body: { __type: 'Internal', message: 'boom' } });
  });
});

describe('local SQS errors through the SDK', () => {
  let sqs: LocalSqs | undefined;
  afterEach(async () => {
    await sqs?.close();
    sqs = undefined;
  });

  it('the SDK reads the error name SQS would send (a bad receipt handle, a missing body)', async () => {
    sqs = await startLocalSqs();
    const client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
    try {
      const QueueUrl = sqs.queueUrl('q');
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello' }));
      const got = await client.send(new ReceiveMessageCommand({ QueueUrl }));
      expect(got.Messages?.map((m) => m.Body)).toEqual(['hello']);
      await expect(client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'nope' }))).rejects.toMatchObject({
        name: 'ReceiptHandleIsInvalid',
        $metadata: { httpStatusCode: 400 },
      });
      await expect(client.send(new SendMessageCommand({ QueueUrl, MessageBody: '' }))).rejects.toMatchObject({ name: 'MissingParameter' });
      expect(sqs.bodies('q')).toEqual(['hello']);
    } finally {
      client.destroy();
    }
  });
});
