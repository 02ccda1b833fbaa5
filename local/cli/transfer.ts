// `s3-to-box transfer s3://BUCKET/KEY --folder ID`: the state machine run locally against any S3 and any Box.
// A failed run exits 3 when its Box session is kept (resume it with --resume or --resume-input), and
// prints the failure document on stdout with --json.
import { readFile } from 'node:fs/promises';
import type { OnConflict, ResumeRef, TransferInput } from '../../src/transfer/contract.ts';
import { defaultFileName } from '../../src/transfer/input.ts';
import { EXIT_STATUS, UsageError } from './exit-status.ts';
import { exitStatusFor, failureOf, resumeHint } from './failure.ts';
import { runWithProgress } from './run.ts';

/** The S3, Box and output options every command that runs the state machine locally takes. */
export interface S3AndBoxOptions {
  s3Endpoint?: string;
  region: string;
  boxApiUrl: string;
  boxUploadUrl: string;
  boxToken?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface TransferCommandOptions extends S3AndBoxOptions {
  folder?: string;
  name?: string;
  fileId?: string;
  versionId?: string;
  onConflict: OnConflict;
  concurrency: number;
  partsPerBatch?: number;
  /** --resume: the Box upload session a failed run left open. */
  resume?: string;
  /** --resume-etag: with --resume, the ETag the failed run read (resume.etag). */
  resumeEtag?: string;
  /** --resume-ignore-expiry: with --resume, resume.ignoreExpiry (try even if the session may expire first). */
  resumeIgnoreExpiry?: boolean;
  /** --resume-input: a file (or `-`, stdin) with a failure document's resumeInput (or the whole document). */
  resumeInput?: string;
  /** Names of the options given on the command line (not defaults), as commander reports them. */
  given?: string[];
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
export function lambdaEnvFor(opts: S3AndBoxOptions, base: Record<string, string | undefined> = process.env) {
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

export function transferInputFor(source: { bucket: string; key: string }, opts: TransferCommandOptions & { folder: string }): TransferInput {
  return {
    source: { bucket: source.bucket, key: source.key, ...(opts.versionId ? { versionId: opts.versionId } : {}) },
    destination: {
      folderId: opts.folder,
      ...(opts.name ? { fileName: opts.name } : {}),
      ...(opts.fileId ? { fileId: opts.fileId } : {}),
    },
    onConflict: opts.onConflict,
    options: { concurrency: opts.concurrency, ...(opts.partsPerBatch ? { partsPerBatch: opts.partsPerBatch } : {}) },
    ...(opts.resume
      ? { resume: { sessionId: opts.resume, ...(opts.resumeEtag ? { etag: opts.resumeEtag } : {}), ...(opts.resumeIgnoreExpiry ? { ignoreExpiry: true } : {}) } }
      : {}),
  };
}

/** Options that shape the input, which --resume-input brings whole. */
const INPUT_OPTIONS = ['folder', 'name', 'fileId', 'versionId', 'onConflict', 'partsPerBatch', 'resume', 'resumeEtag', 'resumeIgnoreExpiry'] as const;
const FLAG: Record<string, string> = {
  folder: '--folder',
  name: '--name',
  fileId: '--file-id',
  versionId: '--version-id',
  onConflict: '--on-conflict',
  partsPerBatch: '--parts-per-batch',
  resume: '--resume',
  resumeEtag: '--resume-etag',
  resumeIgnoreExpiry: '--resume-ignore-expiry',
  concurrency: '--concurrency',
};

/** A resume input as given: a failure document's resumeInput, or the whole document. */
function parseResumeInput(text: string, from: string): TransferInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--resume-input ${from} is not JSON: give the resumeInput of a failure document (what --json prints on failure)`);
  }
  const doc = parsed as { resumeInput?: unknown; resumable?: unknown };
  const input = typeof doc === 'object' && doc !== null && 'resumable' in doc ? doc.resumeInput : parsed;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new UsageError(`--resume-input ${from} holds no resume input (a failure document that is not resumable has none)`);
  }
  return input as TransferInput;
}

async function readInput(from: string): Promise<string> {
  if (from !== '-') return readFile(from, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** An ETag as a command-line word: S3's quotes dropped (a resumed run compares ETags without them). */
function bareEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/**
 * The arguments of the command that resumes `ref` (all but `--resume ID`, which resumeHint adds): the
 * options given, with what the failed run resolved and pinned in place of what was typed: the Box file
 * name (after onConflict 'rename'), the file a session makes a new version of, the S3 version and ETag.
 */
export type ResumeArgs = (ref: ResumeRef) => string[];

/**
 * The transfer input the command line asks for, and how to print the command that resumes it
 * (undefined when the input came whole from --resume-input: the resume input itself is printed then).
 */
export async function commandInput(
  source: { bucket: string; key: string } | undefined,
  opts: TransferCommandOptions,
): Promise<{ input: TransferInput; resumeArgs: ResumeArgs | undefined }> {
  const given = new Set(opts.given ?? []);
  if (opts.resumeInput !== undefined) {
    const clash = [...INPUT_OPTIONS.filter((o) => given.has(o)).map((o) => FLAG[o]), ...(source ? ['s3://BUCKET/KEY'] : [])];
    if (clash.length > 0) throw new UsageError(`--resume-input brings the whole input: drop ${clash.join(', ')}`);
    let text: string;
    try {
      text = await readInput(opts.resumeInput);
    } catch (err) {
      throw new UsageError(`--resume-input ${opts.resumeInput} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    const input = parseResumeInput(text, opts.resumeInput);
    // An explicit --concurrency still applies (to go gentler or faster than the failed run).
    if (given.has('concurrency')) input.options = { ...input.options, concurrency: opts.concurrency };
    return { input, resumeArgs: undefined };
  }
  if (source === undefined) throw new UsageError('s3://BUCKET/KEY is required (or --resume-input)');
  if (opts.folder === undefined) throw new UsageError("required option '--folder <id>' not specified (or --resume-input)");
  if (opts.resumeEtag !== undefined && opts.resume === undefined) throw new UsageError('--resume-etag pins the object of a resumed run: give it with --resume');
  if (opts.resumeIgnoreExpiry === true && opts.resume === undefined) throw new UsageError('--resume-ignore-expiry applies to a resumed run: give it with --resume');
  const input = transferInputFor(source, { ...opts, folder: opts.folder });
  const typed = (o: 'name' | 'fileId' | 'versionId'): string | undefined => (given.has(o) ? opts[o] : undefined);
  const resumeArgs: ResumeArgs = (ref) => {
    const args = [`s3://${source.bucket}/${source.key}`, FLAG.folder!, opts.folder!];
    // The name the session was created for: given when it is not what the key alone would give.
    const name = ref.fileName ?? typed('name');
    if (name !== undefined && (typed('name') !== undefined || name !== defaultFileName(source.key))) args.push(FLAG.name!, name);
    const fileId = ref.fileId ?? typed('fileId');
    if (fileId !== undefined) args.push(FLAG.fileId!, fileId);
    const versionId = ref.versionId ?? typed('versionId');
    if (versionId !== undefined) args.push(FLAG.versionId!, versionId);
    for (const o of ['onConflict', 'concurrency', 'partsPerBatch'] as const) {
      const value = opts[o];
      if (value !== undefined && given.has(o)) args.push(FLAG[o]!, String(value));
    }
    if (opts.s3Endpoint) args.push('--s3-endpoint', opts.s3Endpoint);
    if (given.has('region')) args.push('--region', opts.region);
    if (given.has('boxApiUrl')) args.push('--box-api-url', opts.boxApiUrl);
    if (given.has('boxUploadUrl')) args.push('--box-upload-url', opts.boxUploadUrl);
    // Without a version, the ETag is what tells the resumed run that the object is the one the parts came from.
    if (ref.etag !== undefined) args.push(FLAG.resumeEtag!, bareEtag(ref.etag));
    // A resume refused as expiring too soon (Transfer.SessionExpiring): the printed command tries anyway.
    if (ref.ignoreExpiry === true) args.push(FLAG.resumeIgnoreExpiry!);
    return args;
  };
  return { input, resumeArgs };
}

export async function runTransferCommand(source: { bucket: string; key: string } | undefined, opts: TransferCommandOptions): Promise<number> {
  let built: Awaited<ReturnType<typeof commandInput>>;
  try {
    built = await commandInput(source, opts);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return EXIT_STATUS.usage;
  }
  const { input, resumeArgs } = built;
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
        `Done: s3://${input.source.bucket}/${input.source.key} -> Box file ${f.id} "${f.name}" in folder ${f.parentId}, ` +
          `${f.size} bytes, sha1 ${f.sha1} (${output.mode}, ${output.parts} parts)\n`,
      );
    }
    return EXIT_STATUS.done;
  } catch (err) {
    const failure = failureOf(err);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(failure, null, 2)}\n`);
    } else {
      const stopped = failure.error.name === 'Transfer.Stopped';
      process.stderr.write(`${stopped ? 'Transfer stopped' : 'Transfer failed'}: ${failure.error.name}: ${failure.error.message}\n`);
      // The printed command carries what the failed run pinned and resolved (version, ETag, name, file id).
      const ref = failure.resumeInput?.resume;
      process.stderr.write(resumeHint(failure, ref !== undefined ? resumeArgs?.(ref) : undefined));
    }
    return exitStatusFor(failure);
  }
}
