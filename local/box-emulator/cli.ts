// Command line for the Box upload emulator: `s3-to-box emulator ...` (via local/cli.ts) or
// `node local/box-emulator/cli.ts --port 8088 --token dev-token`. Runs until SIGINT/SIGTERM.
import { Command, InvalidArgumentError, Option } from 'commander';
import { pathToFileURL } from 'node:url';
import { parsePositiveSize as parseByteSize } from '../cli/options.ts';
import { DEFAULT_MIN_CHUNKED_FILE_SIZE, startBoxEmulator } from './index.ts';
import type { BoxEmulator, BoxEmulatorOptions } from './types.ts';

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

export interface EmulatorCliOptions {
  port: number;
  host: string;
  token: string[];
  clientId: string;
  clientSecret: string;
  partSize?: number;
  minChunkedSize: number;
  dataDir?: string;
  commit202Times?: number;
  retryAfter: number;
  latencyMs?: number;
  bandwidth?: number;
}

/** Maps parsed command-line options to startBoxEmulator options. */
export function toEmulatorOptions(o: EmulatorCliOptions): BoxEmulatorOptions {
  const options: BoxEmulatorOptions = {
    port: o.port,
    host: o.host,
    tokens: o.token,
    clientId: o.clientId,
    clientSecret: o.clientSecret,
    minChunkedFileSize: o.minChunkedSize,
  };
  if (o.partSize !== undefined) options.partSize = o.partSize;
  if (o.dataDir !== undefined) options.dataDir = o.dataDir;
  if (o.commit202Times !== undefined && o.commit202Times > 0) {
    options.commitProcessing = { mode: 'count', times: o.commit202Times, retryAfterSeconds: o.retryAfter };
  }
  if (o.latencyMs !== undefined) options.latencyMs = o.latencyMs;
  if (o.bandwidth !== undefined) options.bandwidthBytesPerSecond = o.bandwidth;
  return options;
}

/** The `emulator` command; local/cli.ts may mount it, or call runEmulatorFromCli. */
export function emulatorCommand(io: EmulatorIo = {}): Command {
  return new Command('emulator')
    .summary("start the Box upload emulator, a local stand-in for Box's upload API")
    .description("Start the Box upload emulator (a local stand-in for Box's upload API) and keep it running until interrupted.")
    .addOption(new Option('--port <port>', 'port to listen on (0 = any free port)').default(8088).argParser(parseNonNegativeInt))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--token <token...>', 'accepted developer token(s)', ['dev-token'])
    .option('--client-id <id>', 'client id accepted by POST /oauth2/token', 'emulator-client-id')
    .option('--client-secret <secret>', 'client secret accepted by POST /oauth2/token', 'emulator-client-secret')
    .addOption(new Option('--part-size <size>', 'fixed part size for every session (default: smallest power of two >= 8 MiB keeping <= 10,000 parts)').argParser(parseByteSize))
    .addOption(new Option('--min-chunked-size <size>', 'smallest file size a chunked session accepts').default(DEFAULT_MIN_CHUNKED_FILE_SIZE).argParser(parseByteSize))
    .option('--data-dir <dir>', 'folder for parts and files (default: a temporary folder, removed on exit)')
    .addOption(new Option('--commit-202-times <n>', 'answer each commit 202 (with Retry-After) this many times before 201').argParser(parseNonNegativeInt))
    .addOption(new Option('--retry-after <seconds>', 'Retry-After of those 202 answers').default(1).argParser(parseNonNegativeNumber))
    .addOption(new Option('--latency-ms <ms>', 'latency added to every request').argParser(parseNonNegativeInt))
    .addOption(new Option('--bandwidth <size>', 'per-connection bandwidth cap per second, e.g. 50MiB').argParser(parseByteSize))
    .addHelpText(
      'after',
      `
Runs until interrupted (Ctrl-C), then exits 0; 2 for bad usage.

Examples:
  $ s3-to-box emulator --port 8088 --token dev-token
  $ s3-to-box emulator --part-size 8MiB --commit-202-times 2 --retry-after 1
  $ s3-to-box emulator --latency-ms 40 --bandwidth 50MiB --data-dir ./box-data`,
    )
    .action(async (opts: EmulatorCliOptions) => {
      await serveBoxEmulator(toEmulatorOptions(opts), io);
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
export async function serveBoxEmulator(options: BoxEmulatorOptions, io: EmulatorIo = {}): Promise<void> {
  const log = io.log ?? ((line: string) => console.log(line));
  const box = await startBoxEmulator(options);
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
    const e = err as Error;
    if (e.name !== 'CommanderError') console.error(`${e.name}: ${e.message}`);
    process.exitCode = 1;
  });
}
