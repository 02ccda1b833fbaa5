// What the local runner supplies for a Distributed Map (AWS behaviour, emulated for the same ASL):
//   ItemReader      s3:listObjectsV2 (every page, read with ListObjects V1 paging, see readItems; items
//                   {Key, Size, Etag, LastModified, StorageClass}),
//                   s3:getObject with ReaderConfig.InputType JSON, JSONL, CSV (CSVHeaderLocation FIRST_ROW,
//                   or GIVEN with CSVHeaders) or MANIFEST (an S3 Inventory manifest.json and its CSV files,
//                   gzipped or not); ReaderConfig.MaxItems
//   ItemSelector    a payload template; `$$.Map.Item.Value` / `$$.Map.Item.Index` and `$.` paths
//   ItemBatcher     MaxItemsPerBatch(Path), MaxInputBytesPerBatch(Path) (JSON size of {Items, BatchInput}),
//                   BatchInput (a payload template on the state input)
//   MaxConcurrency  (or MaxConcurrencyPath): child executions at once; 0 = all at once
//   children        each batch (or item) is an execution of the ItemProcessor, run by the same local runner
//                   (its own history, counted like AWS's); a failed child does not fail the others
//   ToleratedFailurePercentage/Count (and their Path forms): past them no new child starts, the running
//                   children are stopped (ABORTED, as Step Functions stops them when a Map Run fails: their
//                   `.sync` Tasks stop their nested executions in turn), and the state fails with
//                   States.ExceedToleratedFailureThreshold; default 0, as in AWS
//   ResultWriter    s3:putObject: <Prefix>/<map run id>/manifest.json, SUCCEEDED_0.json, FAILED_0.json
//                   (failed and stopped children, their Status FAILED or ABORTED),
//                   PENDING_0.json (arrays of child executions with Input/Output as JSON strings), and the
//                   state's result {MapRunArn, ResultWriterDetails: {Bucket, Key}}; without one, the array
//                   of the children's outputs
// Paths are JSONPath reference paths ($, $.a.b, $.a[0]); intrinsic functions are not evaluated here.
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DistributedMapSpec } from './bulk-definition.ts';
import { csvRows } from '../../src/bulk/csv.ts';
import { isRecord } from '../../src/transfer/json.ts';

export class DistributedMapError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Resolves a JSONPath reference path ($, $.a.b, $.a[0], $['a b']) against `root`. */
function resolvePath(root: unknown, path: string, context?: Record<string, unknown>): unknown {
  let target = root;
  let rest: string;
  if (path.startsWith('$$')) {
    target = context;
    rest = path.slice(2);
  } else if (path.startsWith('$')) rest = path.slice(1);
  else throw new DistributedMapError('States.Runtime', `not a path: ${path}`);
  const tokens = rest.match(/\.[^.[\]]+|\[\d+\]|\['[^']*'\]/g) ?? [];
  if (tokens.join('') !== rest) throw new DistributedMapError('States.Runtime', `unsupported path: ${path}`);
  for (const token of tokens) {
    const key = token.startsWith('.') ? token.slice(1) : token.startsWith("['") ? token.slice(2, -2) : Number(token.slice(1, -1));
    if (typeof key === 'number' ? !Array.isArray(target) : !isRecord(target)) throw new DistributedMapError('States.Runtime', `path ${path} does not exist`);
    target = (target as Record<string | number, unknown>)[key];
    if (target === undefined) throw new DistributedMapError('States.Runtime', `path ${path} does not exist`);
  }
  return target;
}

/** A payload template: fields named `x.$` take the value at their path; others are copied (recursively). */
function evaluateTemplate(template: unknown, input: unknown, context?: Record<string, unknown>): unknown {
  if (Array.isArray(template)) return template.map((v) => evaluateTemplate(v, input, context));
  if (!isRecord(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      if (typeof value !== 'string' || value.startsWith('States.')) throw new DistributedMapError('States.Runtime', `${key}: intrinsic functions are not emulated`);
      out[key.slice(0, -2)] = resolvePath(input, value, context);
    } else out[key] = evaluateTemplate(value, input, context);
  }
  return out;
}

function numberField(spec: Record<string, unknown> | DistributedMapSpec, input: unknown, name: string, pathName: string, fallback: number): number {
  const s = spec as Record<string, unknown>;
  if (typeof s[name] === 'number') return s[name] as number;
  if (typeof s[pathName] === 'string') {
    const v = resolvePath(input, s[pathName] as string);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DistributedMapError('States.Runtime', `${pathName} ${String(s[pathName])} is not a non-negative number`);
    return v;
  }
  return fallback;
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (res.Body === undefined) throw new DistributedMapError('States.ItemReaderFailed', `s3://${bucket}/${key} has no body`);
  return Buffer.from(await res.Body.transformToByteArray());
}

/** RFC 4180 CSV rows (src/bulk/csv.ts), blank lines left out. */
function parseCsv(text: string): string[][] {
  return [...csvRows(text)].map((r) => r.fields).filter((r) => !(r.length === 1 && r[0] === ''));
}

function rowsToItems(rows: string[][], headers: string[]): Record<string, string>[] {
  return rows.map((r) => Object.fromEntries(headers.map((h, i) => [h, r[i] ?? ''])));
}

/** Reads the items as the ItemReader would. */
async function readItems(s3: S3Client, reader: Record<string, unknown>, input: unknown): Promise<unknown[]> {
  const resource = String(reader['Resource']);
  const params = evaluateTemplate(reader['Parameters'] ?? {}, input) as Record<string, unknown>;
  const config = (isRecord(reader['ReaderConfig']) ? reader['ReaderConfig'] : {}) as Record<string, unknown>;
  const maxItems = numberField(config, input, 'MaxItems', 'MaxItemsPath', Number.POSITIVE_INFINITY) || Number.POSITIVE_INFINITY;
  const bucket = String(params['Bucket']);
  let items: unknown[] = [];
  try {
    if (resource === 'arn:aws:states:::s3:listObjectsV2') {
      // Paged with ListObjects (V1, Marker = the last key): the same objects in the same order, and the same
      // s3:ListBucket permission, but s3rver cannot page ListObjectsV2 on Node 22 (its continuation token
      // is DES-encrypted, a cipher Node 22's OpenSSL no longer offers).
      let marker: string | undefined;
      for (;;) {
        const page = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: params['Prefix'] as string | undefined, Marker: marker }));
        const contents = page.Contents ?? [];
        for (const o of contents) {
          items.push({ Etag: o.ETag, Key: o.Key, LastModified: Math.floor((o.LastModified?.getTime() ?? 0) / 1000), Size: o.Size, StorageClass: o.StorageClass ?? 'STANDARD' });
        }
        marker = contents.at(-1)?.Key;
        if (page.IsTruncated !== true || marker === undefined || items.length >= maxItems) break;
      }
    } else if (resource === 'arn:aws:states:::s3:getObject') {
      const key = String(params['Key']);
      const type = String(config['InputType'] ?? 'JSON');
      const raw = await getText(s3, bucket, key);
      if (type === 'JSON') {
        const parsed = JSON.parse(raw.toString('utf8')) as unknown;
        if (!Array.isArray(parsed)) throw new DistributedMapError('States.ItemReaderFailed', `s3://${bucket}/${key} is not a JSON array`);
        items = parsed;
      } else if (type === 'JSONL') {
        // Line numbers as an editor counts them (blank lines included), so the message points at the line.
        raw.toString('utf8').split(/\r?\n/).forEach((line, i) => {
          if (line.trim() === '') return;
          try {
            items.push(JSON.parse(line) as unknown);
          } catch (err) {
            throw new DistributedMapError('States.ItemReaderFailed', `ItemReader could not read s3://${bucket}/${key}: line ${i + 1} is not JSON (${(err as Error).message})`);
          }
        });
      } else if (type === 'CSV') {
        const rows = parseCsv(raw.toString('utf8'));
        const location = String(config['CSVHeaderLocation'] ?? 'FIRST_ROW');
        const headers = location === 'GIVEN' ? (config['CSVHeaders'] as string[]) : (rows.shift() ?? []);
        items = rowsToItems(rows, headers);
      } else if (type === 'MANIFEST') {
        const manifest = JSON.parse(raw.toString('utf8')) as { destinationBucket?: string; fileFormat?: string; fileSchema?: string; files?: Array<{ key: string }> };
        if (manifest.fileFormat !== undefined && manifest.fileFormat.toUpperCase() !== 'CSV') {
          throw new DistributedMapError('States.ItemReaderFailed', `inventory format ${manifest.fileFormat} is not supported (CSV only)`);
        }
        const headers = (manifest.fileSchema ?? '').split(',').map((h) => h.trim());
        const filesBucket = (manifest.destinationBucket ?? bucket).replace(/^arn:aws[a-z-]*:s3:::/, '');
        for (const file of manifest.files ?? []) {
          let body = await getText(s3, filesBucket, file.key);
          if (file.key.endsWith('.gz')) body = gunzipSync(body);
          items.push(...rowsToItems(parseCsv(body.toString('utf8')), headers));
        }
      } else throw new DistributedMapError('States.ItemReaderFailed', `ReaderConfig.InputType ${type} is not emulated`);
    } else throw new DistributedMapError('States.ItemReaderFailed', `ItemReader ${resource} is not emulated`);
  } catch (err) {
    if (err instanceof DistributedMapError) throw err;
    const where = params['Key'] === undefined ? `s3://${bucket}` : `s3://${bucket}/${String(params['Key'])}`;
    throw new DistributedMapError('States.ItemReaderFailed', `ItemReader could not read ${where}: ${(err as Error).name}: ${(err as Error).message}`);
  }
  return items.slice(0, maxItems === Number.POSITIVE_INFINITY ? undefined : maxItems);
}

/** Groups items into child inputs as the ItemBatcher would (or one child per item without one). */
function batchItems(spec: DistributedMapSpec, items: unknown[], input: unknown): unknown[] {
  const batcher = spec.itemBatcher;
  if (batcher === undefined) return items;
  const maxItems = numberField(batcher, input, 'MaxItemsPerBatch', 'MaxItemsPerBatchPath', 0) || Number.POSITIVE_INFINITY;
  const maxBytes = Math.min(numberField(batcher, input, 'MaxInputBytesPerBatch', 'MaxInputBytesPerBatchPath', 0) || 262_144, 262_144);
  const batchInput = batcher['BatchInput'] === undefined ? undefined : evaluateTemplate(batcher['BatchInput'], input);
  const fixed = Buffer.byteLength(JSON.stringify({ Items: [], ...(batchInput !== undefined ? { BatchInput: batchInput } : {}) }));
  const batches: unknown[] = [];
  let current: unknown[] = [];
  let bytes = fixed;
  const flush = (): void => {
    if (current.length > 0) batches.push({ Items: current, ...(batchInput !== undefined ? { BatchInput: batchInput } : {}) });
    current = [];
    bytes = fixed;
  };
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (fixed + size > maxBytes) throw new DistributedMapError('States.ItemReaderFailed', `an item is larger than MaxInputBytesPerBatch (${maxBytes} bytes)`);
    if (current.length >= maxItems || bytes + size > maxBytes) flush();
    current.push(item);
    bytes += size;
  }
  flush();
  return batches;
}

/** One child execution as ResultWriter files list it. */
export interface ChildRecord {
  ExecutionArn: string;
  Input: string;
  InputDetails: { Included: true };
  Name: string;
  Output?: string;
  OutputDetails?: { Included: true };
  Error?: string;
  Cause?: string;
  RedriveCount: 0;
  RedriveStatus: 'NOT_REDRIVABLE';
  StartDate: string;
  StopDate?: string;
  StateMachineArn: string;
  Status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'PENDING';
}

export interface ChildRunner {
  (input: unknown, index: number, signal: AbortSignal): { executionArn: string; name: string; stateMachineArn: string; result: Promise<unknown> };
}

export interface RunMapOptions {
  s3: S3Client;
  spec: DistributedMapSpec;
  input: unknown;
  /** e.g. arn:aws:states:us-east-1:123456789012:mapRun:machine/Map:uuid (its last segment names the results folder). */
  mapRunArn: string;
  runChild: ChildRunner;
  signal?: AbortSignal;
  onListed?: (items: unknown[]) => void;
}

/** Runs a Distributed Map state: what its Task stand-in returns. */
export async function runDistributedMap(options: RunMapOptions): Promise<unknown> {
  const { s3, spec, input } = options;
  if (spec.itemReader === undefined) throw new DistributedMapError('States.Runtime', `${spec.name}: a Distributed Map without an ItemReader is not emulated`);
  const listed = await readItems(s3, spec.itemReader, input);
  options.onListed?.(listed);
  const selected = spec.itemSelector === undefined
    ? listed
    : listed.map((value, index) => evaluateTemplate(spec.itemSelector, input, { Map: { Item: { Value: value, Index: index } } }));
  const childInputs = batchItems(spec, selected, input);
  const maxConcurrency = numberField(spec, input, 'maxConcurrency', 'maxConcurrencyPath', 0) || childInputs.length || 1;
  const toleratedPct = numberField(spec, input, 'toleratedFailurePercentage', 'toleratedFailurePercentagePath', 0);
  const toleratedCount = numberField(spec, input, 'toleratedFailureCount', 'toleratedFailureCountPath', 0);
  const tolerates = (failed: number): boolean =>
    failed <= toleratedCount || (childInputs.length > 0 && (failed / childInputs.length) * 100 <= toleratedPct);

  const records: ChildRecord[] = new Array(childInputs.length);
  const outputs: unknown[] = new Array(childInputs.length);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failed = 0;
  let exceeded = false;
  // Each running child's own stop: past the threshold every one is stopped, as Step Functions does.
  const running = new Set<AbortController>();
  const worker = async (): Promise<void> => {
    while (!exceeded && !controller.signal.aborted && next < childInputs.length) {
      const index = next++;
      const childInput = childInputs[index];
      const started = new Date().toISOString();
      const stop = new AbortController();
      const stopChild = (): void => stop.abort();
      controller.signal.addEventListener('abort', stopChild, { once: true });
      running.add(stop);
      const child = options.runChild(childInput, index, stop.signal);
      const base = {
        ExecutionArn: child.executionArn,
        Input: JSON.stringify(childInput),
        InputDetails: { Included: true as const },
        Name: child.name,
        RedriveCount: 0 as const,
        RedriveStatus: 'NOT_REDRIVABLE' as const,
        StartDate: started,
        StateMachineArn: child.stateMachineArn,
      };
      try {
        const output = await child.result;
        outputs[index] = output;
        records[index] = { ...base, Output: JSON.stringify(output), OutputDetails: { Included: true }, StopDate: new Date().toISOString(), Status: 'SUCCEEDED' };
      } catch (err) {
        if (stop.signal.aborted) {
          records[index] = { ...base, StopDate: new Date().toISOString(), Status: 'ABORTED' };
        } else {
          failed++;
          const e = err as { error?: string; cause?: string; name?: string; message?: string };
          records[index] = { ...base, Error: e.error ?? e.name ?? 'States.Runtime', Cause: e.cause ?? e.message ?? '', StopDate: new Date().toISOString(), Status: 'FAILED' };
          if (!tolerates(failed) && !exceeded) {
            exceeded = true;
            for (const other of running) other.abort();
          }
        }
      } finally {
        running.delete(stop);
        controller.signal.removeEventListener('abort', stopChild);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(maxConcurrency, childInputs.length)) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (options.signal?.aborted) throw new DistributedMapError('States.Aborted', 'the execution was stopped');
  for (let i = 0; i < childInputs.length; i++) {
    records[i] ??= {
      ExecutionArn: '',
      Input: JSON.stringify(childInputs[i]),
      InputDetails: { Included: true },
      Name: '',
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      StartDate: '',
      StateMachineArn: '',
      Status: 'PENDING',
    };
  }

  let result: unknown = outputs;
  if (spec.resultWriter !== undefined) {
    const params = evaluateTemplate(spec.resultWriter['Parameters'] ?? {}, input) as { Bucket?: unknown; Prefix?: unknown };
    const bucket = String(params.Bucket);
    const mapRunId = options.mapRunArn.slice(options.mapRunArn.lastIndexOf(':') + 1);
    const base = typeof params.Prefix === 'string' && params.Prefix !== '' ? `${params.Prefix.replace(/\/+$/, '')}/${mapRunId}` : mapRunId;
    const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size: number }>> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
    for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
      const these = records.filter((r) => r.Status === status || (status === 'FAILED' && r.Status === 'ABORTED'));
      if (these.length === 0) continue;
      const body = JSON.stringify(these);
      const key = `${base}/${status}_0.json`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
      files[status].push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifestKey = `${base}/manifest.json`;
    const manifest = { DestinationBucket: bucket, MapRunArn: options.mapRunArn, ResultFiles: files };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: JSON.stringify(manifest), ContentType: 'application/json' }));
    result = { MapRunArn: options.mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
  }
  if (exceeded) {
    throw new DistributedMapError('States.ExceedToleratedFailureThreshold', `${failed} of ${childInputs.length} child executions failed, more than ${spec.name} tolerates`);
  }
  return result;
}
