// The manifest of a bulk run, checked before anything is listed (PlanSync): a list the Distributed Map's
// ItemReader cannot read, or whose items carry no key, is refused at once with Transfer.InvalidInput naming
// the manifest, its format and what is missing. Otherwise AWS fails the whole run later with its own
// ItemReader message (which names neither the key nor the line), or every item fails alone: for a list of
// two million lines, two million report lines before anyone learns the header is wrong.
//
// The start of a JSONL or CSV manifest is checked for its form: every complete line of its first 256 KiB for
// JSONL, the header row for CSV. Then the whole list is read once for keys listed twice: each object's nested
// transfer is named from the run and its key (src/bulk/nested.ts), and two items of one key would copy it
// twice, racing each other into one Box file (or failing on the shared name), so such a list is refused with
// both places named. Lines that cannot be read past the start are left to the ItemReader, which names them.
// An Inventory's manifest.json is read whole (it lists the inventory's files, not the keys; an inventory
// lists each key's current version once).
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError } from '../transfer/errors.ts';
import { cutAtRequestBudget, withinRequestBudget } from '../transfer/request-budget.ts';
import { mapS3Error } from '../transfer/s3source.ts';
import type { ManifestSource } from './contract.ts';
import { csvRows } from './csv.ts';
import { KeyDigests } from './keyDigests.ts';

/** A Distributed Map item is at most 256 KiB: a longer JSONL line cannot be an item. */
const HEAD_BYTES = 256 * 1024;
/** An Inventory manifest.json lists its files; this is far more than any real one. */
const INVENTORY_MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

type Manifest = ManifestSource['manifest'];

const FORMAT_HELP: Record<Manifest['format'], string> = {
  jsonl: 'one JSON object a line, {"key": "...", "versionId"?: "...", "size"?: n}',
  csv: 'a header row naming the columns, key required (versionId and size optional), then one object a row',
  inventory: 'the manifest.json of an S3 Inventory report in CSV format, whose fileSchema names Key',
};

function refuse(manifest: Manifest, what: string): InvalidInputError {
  return new InvalidInputError(
    `source.manifest s3://${manifest.bucket}/${manifest.key} (format ${manifest.format}) ${what}. Expected: ${FORMAT_HELP[manifest.format]}`,
  );
}

/** S3 errors as the transfer names them, with the manifest named as the field it came from. */
function mapManifestError(err: unknown, manifest: Manifest): unknown {
  const mapped = mapS3Error(err, { bucket: manifest.bucket, key: manifest.key }, false);
  if (mapped instanceof Error && mapped.name.startsWith('Transfer.') && mapped.name !== 'Transfer.Deadline' && !mapped.message.startsWith('source.manifest')) {
    mapped.message = `source.manifest: ${mapped.message}`;
  }
  return mapped;
}

/** The object's first `bytes` bytes (all of it when shorter), and whether that is all of it. */
async function readStart(s3: S3Client, manifest: Manifest, bytes: number): Promise<{ text: string; whole: boolean }> {
  try {
    return await withinRequestBudget(`GetObject s3://${manifest.bucket}/${manifest.key}`, undefined, async (abortSignal) => {
      const res = await s3.send(new GetObjectCommand({ Bucket: manifest.bucket, Key: manifest.key, Range: `bytes=0-${bytes - 1}` }), { abortSignal });
      // Bytes, then text: a TextDecoder would drop a byte order mark that the ItemReader does not.
      const text = res.Body === undefined ? '' : Buffer.from(await res.Body.transformToByteArray()).toString('utf8');
      // 206 names the whole size in Content-Range ("bytes 0-N/TOTAL"); 200 (a server that ignores Range, or
      // an object that is shorter) sends all of it.
      const total = Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1] ?? Number.NaN);
      return { text, whole: !(total > bytes) };
    });
  } catch (err) {
    throw mapManifestError(err, manifest);
  }
}

/** The whole manifest as text, chunk by chunk (a manifest may be far larger than memory should hold). */
async function* readWhole(s3: S3Client, manifest: Manifest): AsyncGenerator<string> {
  const what = `GetObject s3://${manifest.bucket}/${manifest.key}`;
  try {
    const res = await withinRequestBudget(what, undefined, (abortSignal) => s3.send(new GetObjectCommand({ Bucket: manifest.bucket, Key: manifest.key }), { abortSignal }));
    if (res.Body === undefined) return;
    const decoder = new StringDecoder('utf8');
    for await (const chunk of cutAtRequestBudget(res.Body as Readable, what)) yield decoder.write(chunk as Buffer);
    yield decoder.end();
  } catch (err) {
    throw mapManifestError(err, manifest);
  }
}

/** The keys a manifest has listed so far (src/bulk/keyDigests.ts), at most `maxKeys` of them. */
class KeysSeen {
  private readonly first = new KeyDigests();
  private readonly manifest: Manifest;
  private readonly where: 'line' | 'row';
  private readonly maxKeys: number;
  constructor(manifest: Manifest, where: 'line' | 'row', maxKeys: number) {
    this.manifest = manifest;
    this.where = where;
    this.maxKeys = maxKeys;
  }

  add(key: string, at: number): void {
    const earlier = this.first.add(key, at);
    if (earlier !== undefined) {
      throw refuse(
        this.manifest,
        `lists the key ${JSON.stringify(key)} twice, on ${this.where}s ${earlier} and ${at}${this.where === 'row' ? ' (the header is row 1)' : ''}: each object is copied by a transfer named from its key, so each key may be listed once (keep one of the two; a manifest copies one version of a key)`,
      );
    }
    if (this.first.size > this.maxKeys) {
      throw refuse(this.manifest, `lists more than ${this.maxKeys.toLocaleString('en-US')} keys, more than a run checks for keys listed twice: split it into manifests of at most that many keys, one run each`);
    }
  }
}

function keyOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const record = item as Record<string, unknown>;
  for (const k of [record['Key'], record['key']]) if (typeof k === 'string' && k !== '') return k;
  return undefined;
}

async function checkJsonlKeys(chunks: Iterable<string> | AsyncIterable<string>, seen: KeysSeen): Promise<void> {
  let carry = '';
  let line = 0;
  const take = (raw: string): void => {
    line++;
    if (raw.trim() === '') return;
    let item: unknown;
    try {
      item = JSON.parse(raw);
    } catch {
      return; // the ItemReader names a line it cannot read
    }
    const key = keyOf(item);
    if (key !== undefined) seen.add(key, line);
  };
  for await (const chunk of chunks) {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop() ?? '';
    for (const raw of lines) take(raw);
  }
  if (carry !== '') take(carry);
}

async function checkCsvKeys(chunks: Iterable<string> | AsyncIterable<string>, seen: KeysSeen): Promise<void> {
  let carry = '';
  let row = 0;
  let keyColumn = -1;
  const take = (fields: string[]): void => {
    row++;
    if (row === 1) {
      keyColumn = fields.includes('key') ? fields.indexOf('key') : fields.indexOf('Key');
      return;
    }
    const key = fields[keyColumn];
    if (key !== undefined && key !== '') seen.add(key, row);
  };
  for await (const chunk of chunks) {
    const text = carry + chunk;
    let consumed = 0;
    // A row whose line break is the text's last character may be a CR whose LF comes next: kept for then.
    for (const r of csvRows(text)) {
      if (!r.ended || r.end >= text.length) break;
      take(r.fields);
      consumed = r.end;
    }
    carry = text.slice(consumed);
  }
  for (const r of csvRows(carry)) take(r.fields);
}

function hasKey(item: Record<string, unknown>): boolean {
  return [item['key'], item['Key']].some((k) => typeof k === 'string' && k !== '');
}

function fieldsOf(value: unknown): string {
  const names = Object.keys(value as object);
  return names.length === 0 ? 'no fields' : `fields ${names.slice(0, 10).join(', ')}`;
}

function checkJsonl(manifest: Manifest, text: string, whole: boolean): void {
  const lines = text.split('\n');
  // The last piece of a partial read may be a line cut short: only complete lines are checked.
  const complete = whole ? lines : lines.slice(0, -1);
  if (!whole && complete.length === 0) refuseLongLine(manifest);
  complete.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const n = i + 1;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch (err) {
      const bom = line.startsWith('\uFEFF') ? ' (the file starts with a byte order mark: save it without one)' : '';
      throw refuse(manifest, `line ${n} is not JSON (${(err as Error).message}): ${JSON.stringify(line.slice(0, 80))}${bom}`);
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw refuse(manifest, `line ${n} is not a JSON object`);
    if (!hasKey(item as Record<string, unknown>)) throw refuse(manifest, `line ${n} has no "key" (found ${fieldsOf(item)})`);
  });
}

function refuseLongLine(manifest: Manifest): never {
  throw refuse(manifest, `has a first line longer than ${HEAD_BYTES} bytes (a Distributed Map item is at most 256 KiB)`);
}

/** The fields of the first CSV row of `text`; undefined when the row does not end within it. */
function firstCsvRow(text: string, whole: boolean): string[] | undefined {
  const first = csvRows(text).next();
  if (first.done === true) return whole ? [''] : undefined;
  return first.value.ended || whole ? first.value.fields : undefined;
}

function checkCsv(manifest: Manifest, text: string, whole: boolean): void {
  if (text.trim() === '') return; // an empty list: nothing to copy
  const header = firstCsvRow(text, whole);
  if (header === undefined) throw refuse(manifest, `has a header row longer than ${HEAD_BYTES} bytes`);
  // Names as the ItemReader takes them: untrimmed, a byte order mark part of the first one.
  const names = header;
  if (names.includes('key') || names.includes('Key')) return;
  const hint = text.startsWith('\uFEFF') ? ' (the file starts with a byte order mark: save it without one)' : '';
  throw refuse(manifest, `has no "key" column in its header row (found ${names.map((n) => JSON.stringify(n)).join(',')})${hint}`);
}

function checkInventory(manifest: Manifest, text: string, whole: boolean): void {
  if (!whole) throw refuse(manifest, `is larger than ${INVENTORY_MANIFEST_MAX_BYTES} bytes: not an S3 Inventory manifest.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw refuse(manifest, `is not JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw refuse(manifest, 'is not a JSON object');
  const m = parsed as Record<string, unknown>;
  const format = m['fileFormat'];
  if (format !== undefined && String(format).toUpperCase() !== 'CSV') {
    throw refuse(manifest, `lists ${String(format)} files; a Distributed Map reads CSV inventories only (set the inventory's output format to CSV)`);
  }
  const schema = typeof m['fileSchema'] === 'string' ? m['fileSchema'].split(',').map((s) => s.trim()) : undefined;
  if (schema === undefined) throw refuse(manifest, 'has no "fileSchema" (the columns of its CSV files)');
  if (!schema.includes('Key')) throw refuse(manifest, `has a fileSchema without Key (found ${JSON.stringify(m['fileSchema'])})`);
  const files = m['files'];
  if (!Array.isArray(files)) throw refuse(manifest, 'has no "files" list');
  const bad = files.findIndex((f) => typeof f !== 'object' || f === null || typeof (f as Record<string, unknown>)['key'] !== 'string');
  if (bad >= 0) throw refuse(manifest, `has an entry of "files" without a "key" (files[${bad}])`);
}

/**
 * Throws Transfer.InvalidInput naming the first key a JSONL or CSV manifest lists again, given its text in
 * pieces cut anywhere, or saying to split a manifest of more than `maxKeys` keys.
 */
export async function checkKeysListedOnce(manifest: Manifest, chunks: Iterable<string> | AsyncIterable<string>, maxKeys: number): Promise<void> {
  if (manifest.format === 'jsonl') await checkJsonlKeys(chunks, new KeysSeen(manifest, 'line', maxKeys));
  else if (manifest.format === 'csv') await checkCsvKeys(chunks, new KeysSeen(manifest, 'row', maxKeys));
}

/**
 * Reads as much of the manifest as tells whether the ItemReader can read it and its items name keys, and
 * a JSONL or CSV list whole for keys listed twice (at most `maxKeys` keys); throws Transfer.InvalidInput naming the manifest, its
 * format and what is missing (or the key and both places). S3 errors are the
 * transfer's (Transfer.SourceNotFound, Transfer.SourceAccessDenied, Transfer.S3Throttled, Transfer.Deadline).
 */
export async function checkManifest(s3: S3Client, manifest: Manifest, maxKeys: number): Promise<void> {
  if (manifest.format === 'inventory') {
    const { text, whole } = await readStart(s3, manifest, INVENTORY_MANIFEST_MAX_BYTES);
    checkInventory(manifest, text, whole);
  } else {
    const { text, whole } = await readStart(s3, manifest, HEAD_BYTES);
    if (manifest.format === 'jsonl') checkJsonl(manifest, text, whole);
    else checkCsv(manifest, text, whole);
    // A manifest that fits in its start is not read again.
    await checkKeysListedOnce(manifest, whole ? [text] : readWhole(s3, manifest), maxKeys);
  }
}
