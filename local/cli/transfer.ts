// `s3-to-box transfer s3://BUCKET/KEY --folder ID`: the state machine run locally against any S3 and any Box.
import type { TransferInput, OnConflict } from '../../src/transfer/contract.ts';
import { describeError, runWithProgress } from './run.ts';

export interface TransferCommandOptions {
  folder: string;
  name?: string;
  fileId?: string;
  versionId?: string;
  onConflict: OnConflict;
  concurrency: number;
  partsPerBatch?: number;
  s3Endpoint?: string;
  region: string;
  boxApiUrl: string;
  boxUploadUrl: string;
  boxToken?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** `env` with this developer token as the only Box credentials: a token given explicitly wins. */
export function withBoxToken(env: Record<string, string | undefined>, token: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env, BOX_DEVELOPER_TOKEN: token };
  delete out.BOX_SECRET_ARN;
  delete out.BOX_CLIENT_ID;
  delete out.BOX_CLIENT_SECRET;
  return out;
}

/** The Lambdas' environment for this run: what AWS would give them, from the CLI's options. */
export function lambdaEnvFor(opts: TransferCommandOptions, base: Record<string, string | undefined> = process.env) {
  const env: Record<string, string | undefined> = {
    ...base,
    AWS_REGION: opts.region,
    BOX_API_URL: opts.boxApiUrl,
    BOX_UPLOAD_URL: opts.boxUploadUrl,
  };
  if (opts.s3Endpoint) {
    env.S3_ENDPOINT = opts.s3Endpoint;
    env.S3_FORCE_PATH_STYLE = 'true';
  }
  // What is given on the command line wins over credentials in the environment.
  return opts.boxToken ? withBoxToken(env, opts.boxToken) : env;
}

export function transferInputFor(source: { bucket: string; key: string }, opts: TransferCommandOptions): TransferInput {
  return {
    source: { bucket: source.bucket, key: source.key, ...(opts.versionId ? { versionId: opts.versionId } : {}) },
    destination: {
      folderId: opts.folder,
      ...(opts.name ? { fileName: opts.name } : {}),
      ...(opts.fileId ? { fileId: opts.fileId } : {}),
    },
    onConflict: opts.onConflict,
    options: { concurrency: opts.concurrency, ...(opts.partsPerBatch ? { partsPerBatch: opts.partsPerBatch } : {}) },
  };
}

export async function runTransferCommand(source: { bucket: string; key: string }, opts: TransferCommandOptions): Promise<number> {
  const input = transferInputFor(source, opts);
  try {
    const output = await runWithProgress(input, {
      env: lambdaEnvFor(opts),
      quiet: opts.quiet || opts.json === true,
      ...(opts.verbose ? { verbose: true } : {}),
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    } else {
      const f = output.file;
      process.stdout.write(
        `Done: s3://${source.bucket}/${source.key} -> Box file ${f.id} "${f.name}" in folder ${f.parentId}, ` +
          `${f.size} bytes, sha1 ${f.sha1} (${output.mode}, ${output.parts} parts)\n`,
      );
    }
    return 0;
  } catch (err) {
    process.stderr.write(`Transfer failed: ${describeError(err)}\n`);
    return 1;
  }
}
