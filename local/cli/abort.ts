// `s3-to-box abort SESSION_ID`: discard the Box upload session a failed or stopped transfer kept.
import { depsFromEnv } from '../../functions/deps.ts';
import { createJsonLogger } from '../../src/transfer/logger.ts';
import { requireAwsCredentials } from './aws-credentials.ts';
import { endpointsOf } from './endpoints.ts';
import { EXIT_STATUS, exitStatusForError } from './exit-status.ts';
import { withBoxToken } from './transfer.ts';

export interface AbortCommandOptions {
  boxApiUrl: string;
  boxUploadUrl: string;
  boxToken?: string;
  region: string;
  json?: boolean;
}

export async function runAbortCommand(sessionId: string, opts: AbortCommandOptions): Promise<number> {
  if (!/^[A-Za-z0-9]{1,128}$/.test(sessionId)) {
    process.stderr.write(`error: ${JSON.stringify(sessionId)} is not a Box upload session id (letters and digits)\n`);
    return EXIT_STATUS.usage;
  }
  const base: Record<string, string | undefined> = { ...process.env, AWS_REGION: opts.region, BOX_API_URL: opts.boxApiUrl, BOX_UPLOAD_URL: opts.boxUploadUrl };
  const env = opts.boxToken ? withBoxToken(base, opts.boxToken) : base;
  const deps = depsFromEnv(env, { logger: createJsonLogger({ level: 'warn', write: (line) => process.stderr.write(`${line}\n`) }) });
  let client: Awaited<ReturnType<typeof deps.box>> | undefined;
  try {
    // Set-up mistakes are said before anything is sent (exit 2): a Box URL from the environment that is not
    // one, and a Box secret that cannot be read without AWS credentials. The S3 client resolves the same
    // default chain as the Secrets Manager client that reads the secret.
    endpointsOf(env, ['BOX_API_URL', 'BOX_UPLOAD_URL']);
    if (env.BOX_SECRET_ARN) await requireAwsCredentials(deps.s3, 'read the Box secret BOX_SECRET_ARN names');
    client = await deps.box();
    await client.chunkedUploads.deleteFileUploadSessionById(sessionId);
    if (opts.json) process.stdout.write(`${JSON.stringify({ sessionId, aborted: true })}\n`);
    else process.stdout.write(`Box upload session ${sessionId} aborted: Box deletes the parts stored in it.\n`);
    return EXIT_STATUS.done;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const notFound = e.name === 'Box.NotFound';
    const message = notFound ? `Box has no open upload session ${sessionId} (committed, aborted, expired, or made by other credentials)` : e.message;
    // The error as the failure document has it: its name apart, not repeated in the message.
    if (opts.json) process.stdout.write(`${JSON.stringify({ sessionId, aborted: false, error: { name: e.name, message } })}\n`);
    process.stderr.write(`Abort failed: ${notFound ? message : `${e.name}: ${message}`}\n`);
    return exitStatusForError(e.name);
  } finally {
    await (client as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => undefined);
    deps.s3.destroy();
  }
}
