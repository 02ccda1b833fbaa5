// Command line for the Box upload emulator: `s3-to-box emulator ...` (via local/cli.ts) or
// `node local/box-emulator/cli.ts --port 8088 --token dev-token`. Runs until SIGINT/SIGTERM.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parsePositiveInt, parsePositiveSize as parseByteSize } from '../cli/options.ts';
import { FAULT_ACTION_TYPES, parseFaultRule } from './faults.ts';
import { DEFAULT_MIN_CHUNKED_FILE_SIZE, startBoxEmulator } from './index.ts';
import { COMMIT_202_BODIES, COMMITTED_SESSION_ANSWERS, MARKER_PAGINGS, OVERLAP_CONTEXTS, PREFLIGHT_ANSWERS } from './types.ts';
import type { BoxEmulator, BoxEmulatorOptions, FaultRule } from './types.ts';

/** "8MiB", "50MB", "1048576" -> bytes, and more than zero. */
export { parsePositiveSize as parseByteSize } from '../cli/options.ts';

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`not a non-negative integer: ${value}`);
  return n;
}

function parseNonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`not a non-negative number: ${value}`);
  return n;
}

/** The command line's parsed options (commander's camelCase names of the flags below). */
export type EmulatorCliOptions = Record<string, unknown>;

/**
 * Every startBoxEmulator option and the command-line option that sets it: one list, from which the
 * command's options, its help and the mapping are made. An option added to BoxEmulatorOptions without an
 * entry here fails to compile.
 */
interface CliEntry<K extends keyof BoxEmulatorOptions> {
  option: Option;
  /** The emulator option from the parsed options; undefined leaves the emulator's default. */
  value: (o: EmulatorCliOptions) => BoxEmulatorOptions[K] | undefined;
}
type CliTable = { [K in keyof BoxEmulatorOptions]-?: CliEntry<K> };

/** The parsed value of `flag` (commander's attribute name of an option). */
const given = <T>(o: EmulatorCliOptions, option: Option): T | undefined => o[option.attributeName()] as T | undefined;
/** An entry whose value is the flag's parsed value as it is. */
function plain<K extends keyof BoxEmulatorOptions>(option: Option): CliEntry<K> {
  return { option, value: (o) => given<BoxEmulatorOptions[K]>(o, option) };
}

const commit202Times = new Option('--commit-202-times <n>', 'answer each commit 202 (with Retry-After) this many times before 201')
  .argParser(parseNonNegativeInt)
  .conflicts('commitBytesPerSecond'); // commander says it (and the CLI exits 2) before anything starts
const commitBytesPerSecond = new Option(
  '--commit-bytes-per-second <size>',
  'Box "processes" the parts one after another at this rate, e.g. 100MiB; commit answers 202 (with Retry-After) until the last one is',
).argParser(parseByteSize);
const retryAfter = new Option('--retry-after <seconds>', 'Retry-After of the 202 answers above').default(1).argParser(parseNonNegativeNumber);

const EMULATOR_CLI: CliTable = {
  port: plain(new Option('--port <port>', 'port to listen on (0 = any free port)').default(8088).argParser(parseNonNegativeInt)),
  host: plain(new Option('--host <host>', 'address to listen on').default('127.0.0.1')),
  dataDir: plain(new Option('--data-dir <dir>', 'folder for parts and files (default: a temporary folder, removed on exit)')),
  tokens: plain(new Option('--token <token...>', 'accepted developer token(s)').default(['dev-token'])),
  clientId: plain(new Option('--client-id <id>', 'client id accepted by POST /oauth2/token').default('emulator-client-id')),
  clientSecret: plain(new Option('--client-secret <secret>', 'client secret accepted by POST /oauth2/token').default('emulator-client-secret')),
  jwtPublicKeys: plain(
    new Option('--jwt-public-key <kid=file...>', "the app's public key(s), a PEM file each by its key id: JWT assertions must then be signed with the matching private key (default: signatures not checked)").argParser(
      parseJwtPublicKey,
    ),
  ),
  tokenTtlSeconds: plain(new Option('--token-ttl <seconds>', 'lifetime of the tokens POST /oauth2/token issues (default 3600)').argParser(parsePositiveInt)),
  partSize: plain(new Option('--part-size <size>', 'fixed part size for every session (default: smallest power of two >= 8 MiB keeping <= 10,000 parts)').argParser(parseByteSize)),
  minChunkedFileSize: plain(new Option('--min-chunked-size <size>', 'smallest file size a chunked session accepts').default(DEFAULT_MIN_CHUNKED_FILE_SIZE).argParser(parseByteSize)),
  maxFileSize: plain(new Option('--max-file-size <size>', 'largest file size a session accepts, 403 file_size_limit_exceeded above (default: unlimited)').argParser(parseByteSize)),
  sessionTtlSeconds: plain(new Option('--session-ttl <seconds>', 'upload session lifetime, then 410 session_expired (default 7 days)').argParser(parsePositiveInt)),
  commitProcessing: {
    option: commit202Times,
    value: (o) => {
      const times = given<number>(o, commit202Times);
      const rate = given<number>(o, commitBytesPerSecond);
      const retryAfterSeconds = given<number>(o, retryAfter) ?? 1;
      if (times !== undefined && times > 0 && rate !== undefined) throw new InvalidArgumentError('--commit-202-times and --commit-bytes-per-second: give one of them');
      if (rate !== undefined) return { mode: 'proportional', bytesPerSecond: rate, retryAfterSeconds };
      return times !== undefined && times > 0 ? { mode: 'count', times, retryAfterSeconds } : undefined;
    },
  },
  commit202Body: plain(new Option('--commit-202-body <body>', "what a commit's 202 carries beside Retry-After (default empty)").choices(COMMIT_202_BODIES)),
  committedSession: plain(new Option('--committed-session <answer>', 'how a committed session answers another commit, get or list parts (default same-file)').choices(COMMITTED_SESSION_ANSWERS)),
  partDigestMismatchStatus: {
    option: new Option('--part-digest-mismatch-status <status>', "status of a part whose Digest does not match its bytes (default 412)").choices(['400', '412']),
    value: (o) => {
      const v = o['partDigestMismatchStatus'];
      return v === undefined ? undefined : (Number(v) as 400 | 412);
    },
  },
  overlapStatus: {
    option: new Option('--overlap-status <status>', 'status of a part that overlaps a stored one: 416 range_overlaps_existing_part or 409 conflict (default 416)').choices(['416', '409']),
    value: (o) => {
      const v = o['overlapStatus'];
      return v === undefined ? undefined : (Number(v) as 416 | 409);
    },
  },
  overlapContext: plain(new Option('--overlap-context <body>', 'what that overlap answer carries beside its message (default part)').choices(OVERLAP_CONTEXTS)),
  preflight: plain(new Option('--preflight <answer>', 'how the preflight check answers a name already taken (default conflicts-object)').choices(PREFLIGHT_ANSWERS)),
  markerPaging: plain(new Option('--marker-paging <end>', 'how marker-paged folder listings end (default null-at-end)').choices(MARKER_PAGINGS)),
  latencyMs: plain(new Option('--latency-ms <ms>', 'latency added to every request').argParser(parseNonNegativeInt)),
  bandwidthBytesPerSecond: plain(new Option('--bandwidth <size>', 'per-connection bandwidth cap per second, e.g. 50MiB').argParser(parseByteSize)),
  onRequest: {
    option: new Option('--log-requests', 'print each API request: method, path, status, operation'),
    value: (o) =>
      o['logRequests'] === true ? (e) => console.log(`${e.method} ${e.path} ${e.status}${e.operation !== undefined ? ` ${e.operation}` : ''}`) : undefined,
  },
};

/** The command-line flag of each emulator option (for the help and the test that each one is reachable). */
export const EMULATOR_OPTION_FLAGS = Object.fromEntries(Object.entries(EMULATOR_CLI).map(([key, entry]) => [key, entry.option.long])) as Record<keyof BoxEmulatorOptions, string>;

/** "kid=path/to/public.pem" -> { kid: PEM }, added to the ones before. */
function parseJwtPublicKey(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not KID=FILE (a key id, then the PEM file of its public key)`);
  const file = value.slice(at + 1);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN')) throw new InvalidArgumentError(`${file} is not a PEM file`);
  return { ...previous, [value.slice(0, at)]: pem };
}

const FAULT_HELP = `a fault rule injected at start, as POST /_emulator/faults takes it: JSON ({"operation":"commit","nth":1,"action":{"type":"status","status":503}}) or OPERATION:ACTION[=N][@NTH][*TIMES], N the status (status, storeThenFail) or ms (latency); actions: ${FAULT_ACTION_TYPES.filter((t) => t !== 'hold').join(', ')}`;

/** One --fault value as a checked fault rule, added to the ones before. */
export function parseFaultOption(value: string, previous: FaultRule[] = []): FaultRule[] {
  let rule: unknown;
  if (value.trim().startsWith('{')) {
    try {
      rule = JSON.parse(value);
    } catch (err) {
      throw new InvalidArgumentError(`--fault ${value}: not JSON (${(err as Error).message})`);
    }
  } else {
    const m = /^([A-Za-z]+):([A-Za-z]+)(?:=(\d+))?(?:@(\d+))?(?:\*(\d+))?$/.exec(value.trim());
    if (m === null) throw new InvalidArgumentError(`--fault ${value}: expected OPERATION:ACTION[=N][@NTH][*TIMES] (e.g. uploadPart:corruptBody@2) or a JSON rule`);
    const [, operation, type, n, nth, times] = m;
    const action: Record<string, unknown> = { type };
    if (n !== undefined) action[type === 'latency' ? 'ms' : 'status'] = Number(n);
    rule = { operation, action, ...(nth !== undefined ? { nth: Number(nth) } : {}), ...(times !== undefined ? { times: Number(times) } : {}) };
  }
  try {
    return [...previous, parseFaultRule(rule)];
  } catch (err) {
    throw new InvalidArgumentError(`--fault ${value}: ${(err as Error).message}`);
  }
}

/** Maps parsed command-line options to startBoxEmulator options. */
export function toEmulatorOptions(o: EmulatorCliOptions): BoxEmulatorOptions {
  const options: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(EMULATOR_CLI) as [keyof BoxEmulatorOptions, CliEntry<keyof BoxEmulatorOptions>][]) {
    const value = entry.value(o);
    if (value !== undefined) options[key] = value;
  }
  return options as BoxEmulatorOptions;
}

/** The `emulator` command; local/cli.ts may mount it, or call runEmulatorFromCli. */
export function emulatorCommand(io: EmulatorIo = {}): Command {
  const cmd = new Command('emulator')
    .summary("start the Box upload emulator, a local stand-in for Box's upload API")
    .description(
      "Start the Box upload emulator (a local stand-in for Box's upload API) and keep it running until interrupted. " +
        "Every option of startBoxEmulator has a flag below, including Box's answers that are assumed (--commit-202-body, " +
        '--committed-session, --overlap-status, --overlap-context, --part-digest-mismatch-status, --preflight, --marker-paging); ' +
        'faults (a status, a reset, a damaged part body, a garbled success, ...) are injected with --fault at start or over HTTP ' +
        'at /_emulator/faults while it runs.',
    );
  for (const entry of Object.values(EMULATOR_CLI)) {
    cmd.addOption(entry.option);
    if (entry.option === commit202Times) cmd.addOption(commitBytesPerSecond).addOption(retryAfter);
  }
  return cmd
    .addOption(new Option('--fault <rule...>', FAULT_HELP).argParser(parseFaultOption))
    .addHelpText(
      'after',
      `
Runs until interrupted (Ctrl-C), then exits 0; 2 for bad usage.

Examples:
  $ s3-to-box emulator --port 8088 --token dev-token
  $ s3-to-box emulator --part-size 8MiB --commit-202-times 2 --retry-after 1 --commit-202-body json-no-body
  $ s3-to-box emulator --latency-ms 40 --bandwidth 50MiB --data-dir ./box-data
  $ s3-to-box emulator --fault uploadPart:corruptBody@2 --fault commit:storeThenGarble@1 --overlap-status 409
  $ s3-to-box emulator --fault '{"operation":"uploadPart","nth":3,"action":{"type":"status","status":429,"retryAfterSeconds":2}}'`,
    )
    .action(async (opts: EmulatorCliOptions, command: Command) => {
      let options: BoxEmulatorOptions;
      try {
        options = toEmulatorOptions(opts);
      } catch (err) {
        // A combination of options refused after parsing: said by commander, as its own usage errors are.
        if (err instanceof InvalidArgumentError) command.error(`error: ${err.message}`, { exitCode: 2, code: err.code });
        throw err;
      }
      await serveBoxEmulator(options, io, (opts['fault'] as FaultRule[] | undefined) ?? []);
    });
}

export interface EmulatorIo {
  /** Where the URLs are printed; default console.log. */
  log?: (line: string) => void;
  /** Stops the emulator when aborted (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called once the emulator listens. */
  onStarted?: (box: BoxEmulator) => void;
}

/** Starts the emulator, prints its URLs, and resolves after SIGINT/SIGTERM (or io.signal) closed it. */
export async function serveBoxEmulator(options: BoxEmulatorOptions, io: EmulatorIo = {}, faults: FaultRule[] = []): Promise<void> {
  const log = io.log ?? ((line: string) => console.log(line));
  const box = await startBoxEmulator(options);
  for (const rule of faults) box.faults.inject(rule);
  // Listening for the stop before the URLs are printed: a Ctrl+C (or a script's SIGINT) that follows them
  // at once still closes the emulator cleanly.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  log(`Box emulator listening`);
  log(`  API base URL:    ${box.url}        (e.g. ${box.url}/2.0/files/{id})`);
  log(`  Upload base URL: ${box.uploadUrl}    (e.g. ${box.uploadUrl}/2.0/files/upload_sessions)`);
  log(`  Token URL:       ${box.url}/oauth2/token`);
  log(`  Admin:           ${box.url}/_emulator/stats, ${box.url}/_emulator/faults`);
  log(`  Data folder:     ${box.dataDir}`);
  for (const rule of faults) log(`  Fault:           ${JSON.stringify(rule)}`);
  log(`Press Ctrl+C to stop.`);
  io.onStarted?.(box);
  await stopped;
  await box.close();
  log('Box emulator stopped.');
}

/** Parses `argv` (the user's arguments only, e.g. ['--port', '8088']) and runs the emulator. */
export async function runEmulatorFromCli(argv: string[], io: EmulatorIo = {}): Promise<void> {
  const cmd = emulatorCommand(io).exitOverride();
  await cmd.parseAsync(argv, { from: 'user' });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runEmulatorFromCli(process.argv.slice(2)).catch((err: unknown) => {
    // Commander has printed its own errors (usage: exit 2, as every command; --help: 0).
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const e = err as Error;
    console.error(`${e.name}: ${e.message}`);
    process.exitCode = 1;
  });
}
