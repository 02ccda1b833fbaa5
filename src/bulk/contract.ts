// The bulk run's data: the input a caller gives the bulk state machine (statemachine/bulk.asl.yml),
// what its Distributed Map hands each child (a batch of listed keys plus the run's settings), what a
// child returns (one result per object, the report's lines), and the run's output.
import type { FailureDocument, OnConflict, TransferInput, TransferOutput } from '../transfer/contract.ts';

export type { FailureDocument };

export type ManifestFormat = 'inventory' | 'jsonl' | 'csv';
export type SyncLayout = 'mirror' | 'flat';
export type SkipRule = 'same-content' | 'same-name' | 'none';

/** A prefix of one bucket: every object whose key starts with it. */
export interface PrefixSource {
  bucket: string;
  /** Key prefix ("" = the whole bucket). Mirrored folders start below its last '/'. */
  prefix: string;
}

/** A list of keys of one bucket, read from an S3 object. */
export interface ManifestSource {
  bucket: string;
  manifest: {
    bucket: string;
    key: string;
    /**
     * `inventory`: an S3 Inventory manifest.json (CSV inventory files); `jsonl`: one JSON object a line,
     * `{"key": "...", "versionId"?: "...", "size"?: n}`; `csv`: a header row naming `key` (and optionally
     * `versionId`, `size`), then one object a row.
     */
    format: ManifestFormat;
  };
}

/**
 * The bulk state machine's input (also POST /transfers with a prefix or manifest, and `s3-to-box sync`).
 * Validated against src/bulk/input.schema.json by validateSyncInput().
 */
export interface SyncInput {
  source: PrefixSource | ManifestSource;
  destination: { folderId: string };
  /** `mirror` (default): the key's path below the prefix becomes Box subfolders; `flat`: every file in the folder. */
  layout?: SyncLayout;
  /** What counts as already copied (default `same-content`). */
  skip?: SkipRule;
  /** For a file that is not skipped but whose name is taken: as in the one-object transfer (default `version`). */
  onConflict?: OnConflict;
  /** Where the Distributed Map writes its results and the run writes report.jsonl. */
  report: { bucket: string; prefix?: string };
  options?: SyncOptions;
}

export interface SyncOptions {
  /** Objects transferred at once by the whole run (default 16). */
  objectsInFlight?: number;
  /** Box upload requests per minute for the whole run (default 240, Box's documented per-user limit). */
  uploadsPerMinute?: number;
  /** Objects per child workflow (ItemBatcher MaxItemsPerBatch; default 100). */
  objectsPerBatch?: number;
  /**
   * Percentage of objects that may fail before the run fails with Transfer.TooManyFailures, its report
   * written all the same (default 100: a failed object is a line of the report, not the end of the run).
   * The Distributed Map applies it to child workflows that fail as a whole, and stops starting new ones past it.
   */
  toleratedFailurePercentage?: number;
  /** Part uploads in flight for each chunked object (the transfer's options.concurrency). */
  concurrency?: number;
  /** Decide and report only: nothing is uploaded and no folder is created. */
  dryRun?: boolean;
}

/** What Plan hands on: the checked input with every default filled in, and the Map's settings. */
export interface SyncPlan {
  /** Which Distributed Map reads the items. */
  reader: 'prefix' | ManifestFormat;
  /** ItemReader parameters. */
  list: { bucket: string; prefix: string; manifestBucket?: string; manifestKey?: string };
  /** ResultWriter parameters: results under `<prefix><execution name>/`. */
  results: { bucket: string; prefix: string };
  maxConcurrency: number;
  objectsPerBatch: number;
  toleratedFailurePercentage: number;
  /** Every child gets this as BatchInput. */
  batchInput: SyncBatchInput;
}

/** The run's settings, as each child workflow receives them (ItemBatcher BatchInput). */
export interface SyncBatchInput {
  /** The execution id of the bulk run: the folder cache and the logs are keyed by it. */
  runId: string;
  /** Which ItemReader listed the items (inventory keys arrive URL-encoded). */
  reader: SyncPlan['reader'];
  sourceBucket: string;
  /** Mirrored folders start below this prefix (up to and including its last '/'). */
  basePrefix: string;
  folderId: string;
  layout: SyncLayout;
  skip: SkipRule;
  onConflict: OnConflict;
  /** Objects handled at once inside one child. */
  objectsInFlight: number;
  /** This child's share of the run's upload budget (uploads per minute / concurrent children). */
  uploadsPerMinute: number;
  concurrency?: number;
  dryRun: boolean;
}

/**
 * One item as a Distributed Map ItemReader gives it: ListObjectsV2 (`Key`, `Size`, `Etag`, `LastModified`),
 * an inventory row (`Bucket`, `Key`, `Size`, `VersionId`, ...), a JSONL line or a CSV row (`key`, `size`, `versionId`).
 */
export type SyncItem = Record<string, unknown>;

/** What a child workflow's first state receives (ItemBatcher's shape; BatchInput is `run.$: $.batchInput`). */
export interface SyncBatchEvent {
  Items: SyncItem[];
  BatchInput: { run: SyncBatchInput };
}

export type ObjectOutcome = 'copied' | 'skipped' | 'failed' | 'would-copy' | 'would-skip';

/** One line of the report (and one element of a child's result). */
export interface ObjectResult {
  key: string;
  outcome: ObjectOutcome;
  /** Bytes of the object (copied or not). */
  bytes: number;
  /** Box folder path below the destination folder ("" = the folder itself), and the file's name. */
  path: string;
  fileId?: string;
  /** Hex SHA-1 of the Box file. */
  sha1?: string;
  /** Why it was skipped: `same-size-and-identity`, `same-sha1`, `same-name`, ... */
  reason?: string;
  /** For a failure: the failure document (README "Failures and resuming"), its resumeInput when the nested transfer can be resumed. */
  failure?: FailureDocument;
  /** For a failure: the one-object transfer input that copies this object alone. */
  input?: TransferInput;
}

/**
 * An object a child hands to a nested execution of the transfer state machine: every object that needs the
 * chunked path, and any the batch could not finish itself (rate limited past its retries, out of time).
 */
export interface NestedTransfer {
  key: string;
  path: string;
  bytes: number;
  input: TransferInput;
  /** The nested execution's name (src/bulk/nested.ts): Summarize finds it again after the run's end stopped it. */
  name: string;
  /** Recorded on the Box file once it is committed (source identity). */
  identity: SourceIdentity;
}

/** SyncBatch's result: the objects settled inside the batch and those for the transfer state machine. */
export interface SyncBatchResult {
  results: ObjectResult[];
  transfers: NestedTransfer[];
}

/** One element of the nested-transfers Map's result: the nested execution's output (startExecution.sync:2's Output), or its error. */
export interface NestedOutcome {
  transfer: NestedTransfer;
  result?: { output: TransferOutput };
  error?: { Error: string; Cause: string };
}

/** FinishBatch's input and the child's output. */
export interface FinishBatchEvent {
  results: ObjectResult[];
  transferResults: NestedOutcome[];
}
export interface BatchOutput {
  results: ObjectResult[];
}

/** Where a Box file came from: recorded on it (Box metadata global.properties) when it is uploaded. */
export interface SourceIdentity {
  bucket: string;
  key: string;
  etag: string;
  versionId?: string;
  size: number;
  /** Hex SHA-1 of the bytes uploaded: a later Box version with other bytes no longer matches. */
  sha1?: string;
}

/** The bulk state machine's output. */
export interface SyncSummary {
  objects: number;
  copied: number;
  skipped: number;
  failed: number;
  /** Bytes of the objects copied. */
  bytesCopied: number;
  /** Bytes of every object listed. */
  bytesTotal: number;
  dryRun: boolean;
  report: { bucket: string; key: string };
  /** The Distributed Map's own result files (ResultWriter manifest). */
  results: { bucket: string; key: string };
}
