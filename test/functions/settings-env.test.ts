// A TRANSFER_* tunable set but unusable, as the deployed handlers meet it (their dependencies built from
// process.env on the first invocation): the invocation fails with Transfer.ConfigurationError naming the
// variable, so the state machine's Catch ends the execution with that name; DescribeFailure, which reads no
// tunable, still writes the failure document; the HTTP trigger answers 500 ConfigurationError.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as describeFailure } from '../../functions/describeFailure.ts';
import { handler as prepare } from '../../functions/prepare.ts';
import { handler as startTransfer, startTransferDepsFromEnv } from '../../functions/startTransfer.ts';
import { lambdaContext } from '../transfer/helpers.ts';

const MESSAGE = 'TRANSFER_MAX_FILE_SIZE (the maxFileSize parameter) must be a whole number of bytes above 0';

describe('a malformed TRANSFER_* variable in a deployed function', () => {
  beforeEach(() => {
    vi.stubEnv('LOG_LEVEL', 'silent');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('BOX_DEVELOPER_TOKEN', 'unused');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('fails Prepare with Transfer.ConfigurationError naming it, on every invocation, and DescribeFailure still describes it', async () => {
    vi.stubEnv('TRANSFER_MAX_FILE_SIZE', '5GB');
    const input = { source: { bucket: 'exports', key: 'a.bin' }, destination: { folderId: '0' } };
    for (let i = 0; i < 2; i++) {
      await expect(prepare({ input, executionId: 'arn:aws:states:us-east-1:1:execution:m:x' } as never, lambdaContext())).rejects.toMatchObject({
        name: 'Transfer.ConfigurationError',
        message: expect.stringContaining(MESSAGE) as unknown,
      });
    }
    let message = '';
    try {
      await prepare({ input } as never, lambdaContext());
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/got "5GB"$/);
    // As Step Functions passes a Lambda's error to the Catch: the runtime's JSON in Cause.
    const cause = JSON.stringify({ errorType: 'Transfer.ConfigurationError', errorMessage: message, trace: [] });
    const described = await describeFailure({ input, state: { input, error: { Error: 'Transfer.ConfigurationError', Cause: cause } } } as never, lambdaContext());
    expect(described.error).toBe('Transfer.ConfigurationError');
    expect(described.resumable).toBe(false);
    expect(JSON.parse(described.cause)).toEqual({ error: { name: 'Transfer.ConfigurationError', message }, resumable: false });
  });

  it('answers POST /transfers with 500 Transfer.ConfigurationError, the variable named by the deps it could not build', async () => {
    vi.stubEnv('STATE_MACHINE_ARN', 'arn:aws:states:us-east-1:123456789012:stateMachine:s3-to-box-test');
    vi.stubEnv('TRANSFER_DEADLINE_FINISH_MARGIN_MS', '5s');
    expect(() => startTransferDepsFromEnv()).toThrow(/^TRANSFER_DEADLINE_FINISH_MARGIN_MS must be a whole number of milliseconds above 0.*got "5s"$/);
    const res = (await startTransfer(
      {
        version: '2.0',
        routeKey: 'POST /transfers',
        rawPath: '/transfers',
        headers: { 'content-type': 'application/json' },
        requestContext: { http: { method: 'POST', path: '/transfers' } },
        body: JSON.stringify({ source: { bucket: 'exports', key: 'a.bin' }, destination: { folderId: '1' } }),
        isBase64Encoded: false,
      },
      { ...lambdaContext(), functionName: 'startTransfer' } as never,
    )) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'Transfer.ConfigurationError' });
  });
});
