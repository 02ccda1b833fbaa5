import { DEFAULT_COMMIT_POLICY } from '../box/commitLoop.ts';
import { parseFolderIds, parseSourceRules } from './allowed.ts';
import { ConfigurationError } from './errors.ts';
import type { SourceRule } from './allowed.ts';

// Tunables of the transfer Lambdas. Defaults are chosen for AWS's and Box's limits (Lambda's 15 minutes,
// Step Functions' payload and history limits, Box's part sizes); tests and the local runner override them per deps.

export interface TransferSettings {
  /** Most part uploads in flight in total when the input gives no `options.concurrency`. */
  defaultConcurrency: number;
  /** Parts in flight inside one UploadBatch invocation (memory ~ this x part size). */
  partsInFlightPerBatch: number;
  /**
   * Parts one UploadBatch invocation reads from S3 and digests ahead of its PUTs, so that a connection whose
   * PUT ends sends the next part at once (memory ~ (partsInFlightPerBatch + this) x part size). Capped at
   * (parts in flight - 1) / 2: none with one or two parts in flight.
   */
  partsReadAhead: number;
  /** Inline Map MaxConcurrency cap (AWS limit: 40). */
  maxMapConcurrency: number;
  /** Most Map items (batches) per execution: keeps a 10,000-part file far inside 25,000 history events. */
  maxBatches: number;
  /** Most bytes per batch, so one UploadBatch invocation ends well inside Lambda's 15 minutes. */
  maxBatchBytes: number;
  /** Batches per Map slot we aim for when parts are plentiful (spreads stragglers). */
  batchesPerMapSlot: number;
  /**
   * Bytes of one ranged GET of the whole-file hash (S3 advises 8-16 MB ranges). An invocation may stop inside one.
   */
  hashRangeBytes: number;
  /**
   * The most ranged GETs of the hash in flight and being read at once (S3 carries ~85-90 MB/s per connection):
   * an invocation starts with one and opens more while its thread waits on the network (src/transfer/hash.ts).
   * The first streams into the hash, the others fill buffers of hashRangeBytes until their turn, so an
   * invocation holds at most (hashRangesInFlight - 1) x hashRangeBytes of the object.
   */
  hashRangesInFlight: number;
  /**
   * Bytes hashed between two looks at the hash's progress (a progress event, the probe's choice, the deadline,
   * node:crypto's projection); at most hashRangeBytes (undefined: hashRangeBytes).
   */
  hashStepBytes?: number | undefined;
  /** Most bytes one HashObject invocation hashes (undefined: until the deadline margin). */
  hashSliceBytes?: number | undefined;
  /**
   * A HashObject invocation hashes with node:crypto (faster, but its state cannot be saved) when the
   * object would take at most half its time left at this rate; otherwise it measures over a probe.
   */
  hashFloorBytesPerSecond: number;
  /** Bytes hashed by both hashers while measuring the read rate that picks one of them. */
  hashProbeBytes: number;
  /** HashObject stops starting new reads when fewer ms than this remain before the deadline. */
  hashSafetyMarginMs: number;
  /** Network-bound Lambdas stop starting new requests when fewer ms than this remain before their deadline. */
  deadlineStartMarginMs: number;
  /** Requests still in flight are cancelled this many ms before the deadline, so no Lambda is killed mid-request. */
  deadlineFinishMarginMs: number;
  /** Total seconds of 202 / transient parts_mismatch waits before Transfer.CommitGaveUp. */
  maxCommitWaitSeconds: number;
  /** Most Commit attempts before Transfer.CommitGaveUp (bounds history events of the commit loop). */
  maxCommitAttempts: number;
  /** First wait after a transient parts_mismatch at commit (doubling, at most 10 s: src/box/commitLoop.ts). */
  partsMismatchRetrySeconds: number;
  /** Most transient parts_mismatch answers in a row before the error is passed on. */
  maxPartsMismatches: number;
  /** Most "name (n).ext" candidates tried by onConflict 'rename'. */
  maxRenameAttempts: number;
  /** Objects smaller than this go through Box's direct upload (Box refuses chunked below 20,000,000 bytes). */
  directUploadMax: number;
  /** Largest object Prepare accepts (the maxFileSize parameter; Box plans cap files at 250 MB to 500 GB). */
  maxFileSize: number;
  /** What Prepare lets transfers read (the sourceBuckets parameter); undefined: anything (local runs). */
  allowedSources?: SourceRule[] | undefined;
  /** Box folders transfers may write into, with their subfolders (destinationFolders); undefined: any. */
  allowedDestinationFolders?: string[] | undefined;
  /** Resume: a session must live this long beyond the time its missing bytes need (hashing, commit, waits). */
  resumeMarginSeconds: number;
  /** Resume: the upload rate assumed for the missing bytes when checking the session's expiry (deliberately low). */
  resumeAssumedBytesPerSecond: number;
  /**
   * Prepare meets another open session for the same name and size (session_conflict): how long it watches
   * that session's stored parts for progress before calling it abandoned (Transfer.SessionAbandoned).
   * Well inside Prepare's 120 s timeout.
   */
  sessionProgressWindowMs: number;
  /** How often Prepare lists that session's parts inside the window. */
  sessionProgressPollMs: number;
  /**
   * Most keys a bulk run's JSONL or CSV manifest may list: PlanSync checks each against every other (keys
   * listed twice) within its memory and timeout (serverless.yml, measured in bench/bulk.ts); more is refused.
   */
  manifestMaxKeys: number;
}

export const DEFAULT_SETTINGS: Readonly<TransferSettings> = Object.freeze({
  defaultConcurrency: 8,
  partsInFlightPerBatch: 4,
  // One part ahead hides a part's GET and SHA-1 (tens of ms) behind the PUTs (hundreds of ms each).
  partsReadAhead: 1,
  maxMapConcurrency: 40,
  maxBatches: 500,
  // 2 GiB in 900 s needs only ~2.3 MiB/s per invocation: a slow link still finishes a batch.
  maxBatchBytes: 2 * 1024 ** 3,
  batchesPerMapSlot: 4,
  // 8 reads of 16 MiB at once (112 MiB of buffers): in AWS one S3 connection carries ~85-90 MB/s, so the
  // hash reads over several to go at its own speed; S3 advises 8-16 MB per ranged GET.
  hashRangeBytes: 16 * 1024 * 1024,
  hashRangesInFlight: 8,
  hashStepBytes: 8 * 1024 * 1024,
  hashSliceBytes: undefined,
  hashSafetyMarginMs: 30_000,
  // A part of up to 128 MiB at a few MiB/s, with a retry, still finishes inside the start margin.
  deadlineStartMarginMs: 120_000,
  deadlineFinishMarginMs: 5_000,
  // 10 MiB/s is far below what one Lambda reads from S3: up to ~4 GiB in one 900 s invocation go
  // straight to node:crypto, bigger objects measure first.
  hashFloorBytesPerSecond: 10 * 1024 * 1024,
  hashProbeBytes: 64 * 1024 * 1024,
  maxCommitWaitSeconds: 3600,
  maxCommitAttempts: 300,
  // The commit policy shared with uploadBigFile (src/box/commitLoop.ts).
  partsMismatchRetrySeconds: DEFAULT_COMMIT_POLICY.partsMismatchFirstDelayMs / 1000,
  maxPartsMismatches: DEFAULT_COMMIT_POLICY.maxPartsMismatches,
  maxRenameAttempts: 100,
  directUploadMax: 20_000_000,
  maxFileSize: 500 * 1024 ** 3,
  allowedSources: undefined,
  allowedDestinationFolders: undefined,
  resumeMarginSeconds: 3600,
  // 4 MiB/s: a fully missing 500 GB file needs ~35 h, so only a session in its last days is refused.
  resumeAssumedBytesPerSecond: 4 * 1024 * 1024,
  // A live transfer stores a part every few seconds; 60 s of none leaves Prepare 55 s of its 120 s.
  sessionProgressWindowMs: 60_000,
  sessionProgressPollMs: 1_000,
  manifestMaxKeys: 1_000_000,
});

export function resolveSettings(overrides?: Partial<TransferSettings>): TransferSettings {
  const merged: TransferSettings = { ...DEFAULT_SETTINGS };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  return merged;
}

const ENV_SETTINGS: Record<string, keyof TransferSettings> = {
  TRANSFER_DEFAULT_CONCURRENCY: 'defaultConcurrency',
  TRANSFER_PARTS_IN_FLIGHT: 'partsInFlightPerBatch',
  TRANSFER_PARTS_READ_AHEAD: 'partsReadAhead',
  TRANSFER_MAX_BATCHES: 'maxBatches',
  TRANSFER_MAX_BATCH_BYTES: 'maxBatchBytes',
  TRANSFER_HASH_RANGE_BYTES: 'hashRangeBytes',
  TRANSFER_HASH_RANGES_IN_FLIGHT: 'hashRangesInFlight',
  TRANSFER_HASH_SLICE_BYTES: 'hashSliceBytes',
  TRANSFER_HASH_SAFETY_MARGIN_MS: 'hashSafetyMarginMs',
  TRANSFER_DEADLINE_START_MARGIN_MS: 'deadlineStartMarginMs',
  TRANSFER_DEADLINE_FINISH_MARGIN_MS: 'deadlineFinishMarginMs',
  TRANSFER_HASH_FLOOR_BYTES_PER_SECOND: 'hashFloorBytesPerSecond',
  TRANSFER_HASH_PROBE_BYTES: 'hashProbeBytes',
  TRANSFER_MAX_COMMIT_WAIT_SECONDS: 'maxCommitWaitSeconds',
  TRANSFER_MAX_COMMIT_ATTEMPTS: 'maxCommitAttempts',
  TRANSFER_MAX_FILE_SIZE: 'maxFileSize',
  TRANSFER_RESUME_MARGIN_SECONDS: 'resumeMarginSeconds',
  TRANSFER_RESUME_BYTES_PER_SECOND: 'resumeAssumedBytesPerSecond',
  TRANSFER_SESSION_PROGRESS_WINDOW_MS: 'sessionProgressWindowMs',
  TRANSFER_SESSION_PROGRESS_POLL_MS: 'sessionProgressPollMs',
};

/** The TRANSFER_* variables of the tunables, each a whole number (README "Deploying"). */
export const TUNABLE_VARIABLES: readonly string[] = Object.freeze(Object.keys(ENV_SETTINGS));

/** Tunables for which 0 means "none" (every other one is above 0). */
const ZERO_MEANS_NONE: ReadonlySet<keyof TransferSettings> = new Set<keyof TransferSettings>(['partsReadAhead']);

/** Deployment parameters (serverless.yml `--param`) that reach a function as one of these variables. */
const ENV_PARAMS: Readonly<Record<string, string>> = { TRANSFER_MAX_FILE_SIZE: 'maxFileSize' };

/** What a variable counts, by its name's ending (bytes, milliseconds, seconds; otherwise a plain number). */
function unitOf(name: string): string {
  if (name.endsWith('_BYTES_PER_SECOND')) return ' of bytes per second';
  if (name.endsWith('_BYTES') || name.endsWith('_SIZE')) return ' of bytes';
  if (name.endsWith('_MS')) return ' of milliseconds';
  if (name.endsWith('_SECONDS')) return ' of seconds';
  return '';
}

/**
 * A tunable's value: a whole number above 0 (or 0, where it means none), written in digits. Anything else set throws
 * Transfer.ConfigurationError naming the variable, the value and what a good one looks like: a tunable
 * or a limit (TRANSFER_MAX_FILE_SIZE) silently replaced by its default would run the deployment otherwise
 * than its owner configured it.
 */
function tunableFromEnv(name: string, key: keyof TransferSettings, raw: string): number {
  const text = raw.trim();
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  const least = ZERO_MEANS_NONE.has(key) ? 0 : 1;
  if (Number.isSafeInteger(n) && n >= least) return n;
  const param = ENV_PARAMS[name];
  const fallback = DEFAULT_SETTINGS[key];
  const example = typeof fallback === 'number' ? `, such as ${fallback} (the default when it is not set)` : '';
  throw new ConfigurationError(
    `${name}${param ? ` (the ${param} parameter)` : ''} must be a whole number${unitOf(name)} ${least === 0 ? '(0: none)' : 'above 0'}, in digits only${example}; got ${JSON.stringify(raw)}`,
  );
}

/**
 * Overrides from TRANSFER_* environment variables: the tunables (whole numbers, above 0 but where 0 means none; unset or empty
 * means the default), and the deployment's limits TRANSFER_SOURCES and TRANSFER_DESTINATION_FOLDERS (set
 * on Prepare by serverless.yml). A value set but unusable throws Transfer.ConfigurationError naming the
 * variable: neither a limit nor a tunable is ever dropped for its default.
 */
export function settingsFromEnv(env: Record<string, string | undefined> = process.env): Partial<TransferSettings> {
  const out: Partial<TransferSettings> = {};
  if (env.TRANSFER_SOURCES !== undefined) out.allowedSources = parseSourceRules(env.TRANSFER_SOURCES);
  if (env.TRANSFER_DESTINATION_FOLDERS !== undefined) out.allowedDestinationFolders = parseFolderIds(env.TRANSFER_DESTINATION_FOLDERS);
  for (const [name, key] of Object.entries(ENV_SETTINGS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    (out as Record<string, number>)[key] = tunableFromEnv(name, key, raw);
  }
  return out;
}
