// Chunked ("multiput") upload sessions: create (new file / new version), get, upload part, list parts,
// commit, abort, log. Rules and error rows follow Box's chunked upload API (local/box-emulator/README.md lists what is guessed).
import { createHash } from 'node:crypto';
import { renameSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { param, principalOf } from './context.ts';
import type { RequestContext } from './context.ts';
import { BoxApiError, badRequest } from './errors.ts';
import { bodyChunks, header, jsonReply, readJsonObject } from './http-util.ts';
import type { Reply } from './http-util.ts';
import { latest, partJson, sortedParts, userMini, validateItemName } from './store.ts';
import type { FileRecord, PartRecord, SessionRecord } from './store.ts';
import type { OverlapContext } from './types.ts';

const SESSION_ID = /^[0-9A-F]{32}$/;
const WRITE_BATCH_BYTES = 1024 * 1024;
const HASH_READ_BYTES = 1024 * 1024;

// ---------- helpers ----------

function parseFolderId(value: unknown): string {
  if (value === undefined || value === null || value === '') throw badRequest('Missing folder_id', 'missing_destination');
  const id = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof id !== 'string' || !/^\d+$/.test(id)) throw badRequest('Invalid folder_id', 'invalid_folder_id');
  return id;
}

function parseFileSize(ctx: RequestContext, value: unknown): number {
  if (value === undefined || value === null) throw badRequest('Missing file_size', 'missing_file_size');
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw badRequest('Invalid file_size', 'invalid_file_size');
  const { minChunkedFileSize, maxFileSize } = ctx.env.config;
  if (value < minChunkedFileSize) {
    throw badRequest(`File size ${value} is less than the minimum allowed for this API: ${minChunkedFileSize}`, 'file_size_too_small');
  }
  if (value > maxFileSize) {
    throw new BoxApiError(403, 'file_size_limit_exceeded', "File size exceeds the folder owner's file size limit");
  }
  return value;
}

/** Parses `Digest: sha=<b64>[, sha-256=<b64>]` (algorithm names are case-insensitive). */
function parseDigest(value: string | undefined, allowSha256: boolean): { alg: 'sha1' | 'sha256'; b64: string } {
  if (value === undefined || value.trim() === '') throw badRequest('Missing Digest header');
  let sha256: string | undefined;
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const alg = item.slice(0, eq).trim().toLowerCase();
    const b64 = item.slice(eq + 1).trim();
    if (alg === 'sha') {
      if (Buffer.from(b64, 'base64').length !== 20) throw badRequest('Invalid SHA-1 value in Digest header');
      return { alg: 'sha1', b64 };
    }
    if (alg === 'sha-256' && allowSha256) sha256 = b64;
  }
  if (sha256 !== undefined) {
    if (Buffer.from(sha256, 'base64').length !== 32) throw badRequest('Invalid SHA-256 value in Digest header');
    return { alg: 'sha256', b64: sha256 };
  }
  throw badRequest('Digest header has no supported algorithm (expected sha=<base64 SHA-1>)');
}

/** context_info of a 416 overlap, in the variant the emulator was told to answer (Box's is unconfirmed). */
function overlapDetails(existing: PartRecord, variant: OverlapContext): { contextInfo?: Record<string, unknown> } {
  if (variant === 'message-only') return {};
  const part: Record<string, unknown> = { ...partJson(existing) };
  if (variant === 'part-without-sha1') delete part.sha1;
  return { contextInfo: { conflicting_part: part } };
}

const rangeError = (message: string): BoxApiError => new BoxApiError(416, 'requested_range_not_satisfiable', message);

/** A session the caller may use; 400/404/410/403 otherwise. Committed sessions are returned. */
function sessionFor(ctx: RequestContext, opts: { allowExpired?: boolean; allowAborted?: boolean; allowCommitted?: boolean } = {}): SessionRecord {
  const id = param(ctx, 0);
  if (!SESSION_ID.test(id)) throw badRequest('Invalid upload session id', 'invalid_upload_session_id');
  const s = ctx.env.store.sessions.get(id);
  if (s === undefined || (s.status === 'aborted' && !opts.allowAborted)) throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
  if (s.owner.key !== principalOf(ctx).key) {
    throw new BoxApiError(403, 'forbidden', 'Only the user who initiated the upload session may upload to it');
  }
  if (!opts.allowExpired && s.status === 'open' && Date.now() >= s.expiresAt) {
    throw new BoxApiError(410, 'session_expired', 'The upload session has expired');
  }
  if (s.status === 'committed' && opts.allowCommitted !== true) committedSessionGone(ctx);
  return s;
}

/** A committed session that the `committedSession` option says is gone: 404 or 410 to every call but DELETE. */
function committedSessionGone(ctx: RequestContext): void {
  const answer = ctx.env.config.committedSession;
  if (answer === 'not-found') throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
  if (answer === 'session-gone') throw new BoxApiError(410, 'upload_failed', 'The upload session is no longer available');
}

/** A repeated commit of a committed session, as the `committedSession` option says Box answers it. */
function repeatedCommit(ctx: RequestContext, s: SessionRecord, file: FileRecord): void {
  switch (ctx.env.config.committedSession) {
    case 'name-in-use':
      throw new BoxApiError(409, 'item_name_in_use', 'Item with the same name already exists', {
        contextInfo: { conflicts: ctx.env.store.fileMini(file) },
      });
    case 'parts-mismatch':
      throw partsMismatch(`No matching part found on server for the parts of session ${s.id}`);
    case 'bad-request':
      throw badRequest('The upload session has already been committed');
    default:
      break;
  }
}

/** How many parts the (simulated) background processing has finished. */
function partsProcessed(ctx: RequestContext, s: SessionRecord): number {
  const cp = ctx.env.config.commitProcessing;
  if (s.status === 'committed') return s.totalParts;
  if (cp.mode === 'proportional') {
    const now = Date.now();
    let n = 0;
    for (const p of s.parts.values()) if (p.processedAt <= now) n++;
    return n;
  }
  if (cp.mode === 'count' && s.commitAttempts202 < cp.times) return Math.max(0, s.parts.size - 1);
  return s.parts.size;
}

function sessionReply(ctx: RequestContext, s: SessionRecord, status: number): Reply {
  return jsonReply(status, ctx.env.store.sessionJson(s, ctx.env.baseUrl, partsProcessed(ctx, s)));
}

async function newSession(
  ctx: RequestContext,
  init: { folderId: string; fileId: string | undefined; fileName: string; fileSize: number },
): Promise<SessionRecord> {
  const { store, config } = ctx.env;
  const partSize = config.partSizeFor(init.fileSize);
  if (!Number.isSafeInteger(partSize) || partSize <= 0) throw new Error(`part size policy returned ${partSize}`);
  const id = store.newSessionId();
  const now = Date.now();
  const s: SessionRecord = {
    id,
    owner: principalOf(ctx),
    ...init,
    partSize,
    totalParts: Math.ceil(init.fileSize / partSize),
    createdAt: now,
    expiresAt: now + config.sessionTtlMs,
    status: 'open',
    parts: new Map(),
    partIds: new Set(),
    bytesUploaded: 0,
    inFlight: new Map(),
    dataPath: store.sessionDataPath(id),
    commitAttempts202: 0,
    processingUntil: 0,
    commitLock: Promise.resolve(),
    committedFileId: undefined,
    wholeSha1: undefined,
    prefixHash: createHash('sha1'),
    hashedUpTo: 0,
    hashing: Promise.resolve(),
  };
  // A sparse file of the final size: parts are written at their offsets, so commit is a rename.
  await mkdir(path.dirname(s.dataPath), { recursive: true });
  const fh = await open(s.dataPath, 'w');
  try {
    await fh.truncate(init.fileSize);
  } finally {
    await fh.close();
  }
  store.sessions.set(id, s);
  return s;
}

// ---------- handlers ----------

/** POST /files/upload_sessions */
export async function createSession(ctx: RequestContext): Promise<Reply> {
  const { store } = ctx.env;
  const body = await readJsonObject(ctx.req, ctx.env.shaper);
  const folderId = parseFolderId(body.folder_id);
  const fileSize = parseFileSize(ctx, body.file_size);
  const fileName = validateItemName(body.file_name, 'missing_file_name');
  if (store.folder(folderId) === undefined) {
    throw new BoxApiError(404, 'invalid_parameter', 'The folder_id value represents a folder that does not exist or that the user cannot access');
  }
  store.assertNameFree(folderId, fileName);
  // The same create again (e.g. a retry after a lost response) while the first session is open.
  const owner = principalOf(ctx).key;
  const now = Date.now();
  for (const other of store.sessions.values()) {
    if (
      other.status === 'open' &&
      now < other.expiresAt &&
      other.fileId === undefined &&
      other.owner.key === owner &&
      other.folderId === folderId &&
      other.fileName.toLowerCase() === fileName.toLowerCase() &&
      other.fileSize === fileSize
    ) {
      throw new BoxApiError(409, 'session_conflict', 'A session with the same parameters already exists', {
        contextInfo: { session: store.sessionJson(other, ctx.env.baseUrl, partsProcessed(ctx, other)) },
      });
    }
  }
  const s = await newSession(ctx, { folderId, fileId: undefined, fileName, fileSize });
  return sessionReply(ctx, s, 201);
}

/** POST /files/{file_id}/upload_sessions */
export async function createVersionSession(ctx: RequestContext): Promise<Reply> {
  const { store } = ctx.env;
  const file = store.files.get(param(ctx, 0));
  const body = await readJsonObject(ctx.req, ctx.env.shaper);
  if (file === undefined) throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
  const fileSize = parseFileSize(ctx, body.file_size);
  const fileName = body.file_name === undefined ? file.name : validateItemName(body.file_name, 'missing_file_name');
  const folderId = body.folder_id === undefined ? file.parentId : parseFolderId(body.folder_id);
  if (store.folder(folderId) === undefined) throw new BoxApiError(404, 'not_found', 'Could not find the specified folder');
  store.assertNameFree(folderId, fileName, file.id);
  const s = await newSession(ctx, { folderId, fileId: file.id, fileName, fileSize });
  return sessionReply(ctx, s, 201);
}

/** GET /files/upload_sessions/{id} */
export async function getSession(ctx: RequestContext): Promise<Reply> {
  return sessionReply(ctx, sessionFor(ctx), 200);
}

/** PUT /files/upload_sessions/{id}: one part, streamed to its place in the session's file. */
export async function uploadPart(ctx: RequestContext): Promise<Reply> {
  const { req } = ctx;
  const s = sessionFor(ctx);
  const digest = parseDigest(header(req, 'digest'), true);
  const rangeHeader = header(req, 'content-range');
  if (rangeHeader === undefined) throw badRequest('Missing Content-Range header');
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(rangeHeader.trim());
  if (m === null) throw rangeError(`Content-Range ${JSON.stringify(rangeHeader)} is not of the form "bytes first-last/total"`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = Number(m[3]);
  if (total !== s.fileSize) throw rangeError(`Content-Range total ${total} does not match the session's file size ${s.fileSize}`);
  if (end < start || end >= s.fileSize) throw rangeError('Content-Range does not match a specified range for the session');
  if (start % s.partSize !== 0) {
    throw rangeError(`Content-Range start ${start} is not a multiple of the part size ${s.partSize}`);
  }
  const size = end - start + 1;
  const isLast = end === s.fileSize - 1;
  if (isLast ? size > s.partSize : size !== s.partSize) {
    throw rangeError(`Part size ${size} does not match the session's part size ${s.partSize}`);
  }

  // A part at the same offset being received right now: wait for its outcome.
  for (let f = s.inFlight.get(start); f !== undefined; f = s.inFlight.get(start)) await f.done;
  if (s.status === 'aborted') throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
  const existing = s.parts.get(start);
  if (existing !== undefined) {
    const stored = `{"id": "${existing.part_id}", "offset": ${existing.offset}, "size": ${existing.size}}`;
    const details = overlapDetails(existing, ctx.env.config.overlapContext);
    if (ctx.env.config.overlapStatus === 409) throw new BoxApiError(409, 'conflict', `Chunk conflicts with another chunk previously uploaded: ${stored}`, details);
    throw new BoxApiError(416, 'range_overlaps_existing_part', `Part overlaps with previously uploaded part: ${stored}`, details);
  }
  const contentLength = header(req, 'content-length');
  if (contentLength !== undefined && Number(contentLength) !== size) {
    throw badRequest(`Content-Length ${contentLength} does not match the Content-Range length ${size}`);
  }

  let settle!: () => void;
  s.inFlight.set(start, { end, done: new Promise<void>((resolve) => (settle = resolve)) });
  try {
    const sha1 = createHash('sha1');
    const sha256 = digest.alg === 'sha256' ? createHash('sha256') : undefined;
    let received = 0;
    const fh = await open(s.dataPath, 'r+').catch(() => {
      throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
    });
    try {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let position = start;
      const flush = async (): Promise<void> => {
        if (batchBytes === 0) return;
        await fh.writev(batch, position);
        position += batchBytes;
        batch = [];
        batchBytes = 0;
      };
      let damage = ctx.corruptBody === true;
      for await (let chunk of bodyChunks(req, ctx.env.shaper)) {
        if (damage && chunk.length > 0) {
          // The corruptBody fault: damaged on the way in, as the Digest header exists to catch.
          chunk = Buffer.from(chunk);
          chunk[0] = chunk[0]! ^ 0xff;
          damage = false;
        }
        received += chunk.length;
        if (received > size) throw badRequest(`Request body is longer than the Content-Range length ${size}`);
        sha1.update(chunk);
        sha256?.update(chunk);
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= WRITE_BATCH_BYTES) await flush();
      }
      await flush();
    } finally {
      await fh.close();
    }
    if (received !== size) throw badRequest(`Request body length ${received} does not match the Content-Range length ${size}`);
    const actual = (sha256 ?? sha1).digest('base64');
    if (actual !== digest.b64) {
      throw new BoxApiError(ctx.env.config.partDigestMismatchStatus, 'digest_mismatch', `Part digest was incorrect. Actual: ${actual} Expected: ${digest.b64}`);
    }
    if (s.status !== 'open') throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
    const now = Date.now();
    const cp = ctx.env.config.commitProcessing;
    let processedAt = now;
    if (cp.mode === 'proportional') {
      // Parts are "processed" one after another, each taking size / bytesPerSecond.
      s.processingUntil = Math.max(s.processingUntil, now) + (size / cp.bytesPerSecond) * 1000;
      processedAt = s.processingUntil;
    }
    const part: PartRecord = {
      part_id: ctx.env.store.newPartId(s),
      offset: start,
      size,
      sha1: digest.alg === 'sha1' ? Buffer.from(digest.b64, 'base64').toString('hex') : sha1.digest('hex'),
      processedAt,
    };
    s.parts.set(start, part);
    s.bytesUploaded += size;
    if (start === s.hashedUpTo) void advanceHashing(ctx, s);
    return jsonReply(200, { part: partJson(part) });
  } finally {
    s.inFlight.delete(start);
    settle();
  }
}

function parsePaging(ctx: RequestContext): { offset: number; limit: number } {
  const q = ctx.url.searchParams;
  const num = (name: string, dflt: number): number => {
    const raw = q.get(name);
    if (raw === null || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw badRequest(`Invalid value for ${name}: ${raw}`);
    return n;
  };
  const offset = num('offset', 0);
  const limit = Math.min(num('limit', 1000), 1000);
  if (offset > 10000) throw badRequest('Queries with offset parameter value exceeding 10000 are not supported');
  return { offset, limit };
}

/** GET /files/upload_sessions/{id}/parts (offset counts parts, not bytes). */
export async function listParts(ctx: RequestContext): Promise<Reply> {
  const s = sessionFor(ctx);
  const { offset, limit } = parsePaging(ctx);
  const all = sortedParts(s);
  return jsonReply(200, {
    total_count: all.length,
    limit,
    offset,
    order: [{ by: 'type', direction: 'ASC' }],
    entries: all.slice(offset, offset + limit).map(partJson),
  });
}

/** POST /files/upload_sessions/{id}/log: client telemetry, accepted and dropped. */
export async function logEvent(ctx: RequestContext): Promise<Reply> {
  sessionFor(ctx);
  const body = await readJsonObject(ctx.req, ctx.env.shaper);
  if (typeof body.event_type !== 'string') throw badRequest('Missing event_type');
  return { status: 204 };
}

/** DELETE /files/upload_sessions/{id}: 204, also after a commit (the SDK's own tests rely on it) or a first abort. */
export async function abortSession(ctx: RequestContext): Promise<Reply> {
  const s = sessionFor(ctx, { allowExpired: true, allowAborted: true, allowCommitted: true });
  if (s.status === 'open') {
    s.status = 'aborted';
    await rm(s.dataPath, { force: true });
  }
  return { status: 204 };
}

/**
 * Feeds the session's running whole-file SHA-1 with the stored parts that continue its prefix. It runs
 * in the background after each stored part (reading back from the page cache), so that a commit does not
 * have to read the whole file again.
 */
function advanceHashing(ctx: RequestContext, s: SessionRecord): Promise<void> {
  const signal = ctx.env.signal;
  const run = async (): Promise<void> => {
    if (s.parts.get(s.hashedUpTo) === undefined || s.status !== 'open') return;
    const fh = await open(s.dataPath, 'r');
    try {
      const buf = Buffer.allocUnsafe(HASH_READ_BYTES);
      for (let p = s.parts.get(s.hashedUpTo); p !== undefined && s.status === 'open' && !signal.aborted; p = s.parts.get(s.hashedUpTo)) {
        for (let done = 0; done < p.size; ) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, p.size - done), p.offset + done);
          if (bytesRead === 0) throw new Error('session data file is shorter than its parts');
          s.prefixHash.update(buf.subarray(0, bytesRead));
          done += bytesRead;
        }
        s.hashedUpTo += p.size;
      }
    } finally {
      await fh.close();
    }
  };
  // A failed run (e.g. the session was aborted and its file removed) leaves the prefix where it was.
  s.hashing = s.hashing.then(run).catch(() => undefined);
  return s.hashing;
}

/** The whole-file SHA-1 (base64) of a session whose parts cover the file. */
async function wholeFileSha1(ctx: RequestContext, s: SessionRecord): Promise<string> {
  await advanceHashing(ctx, s);
  if (s.hashedUpTo !== s.fileSize) throw new Error(`could only hash ${s.hashedUpTo} of ${s.fileSize} bytes`);
  return s.prefixHash.digest('base64');
}

function partsMismatch(message: string): BoxApiError {
  return new BoxApiError(400, 'parts_mismatch', message);
}

/** The commit's parts must be exactly the stored parts, and those must cover [0, file_size). */
function checkCommitParts(s: SessionRecord, parts: unknown): void {
  if (!Array.isArray(parts)) throw badRequest('Missing parts');
  const seen = new Set<number>();
  for (const p of parts as unknown[]) {
    const q = (p ?? {}) as Record<string, unknown>;
    const stored = typeof q.offset === 'number' ? s.parts.get(q.offset) : undefined;
    const sha1 = q.sha1;
    const matches =
      stored !== undefined &&
      !seen.has(stored.offset) &&
      q.part_id === stored.part_id &&
      q.size === stored.size &&
      (sha1 === undefined || sha1 === null || (typeof sha1 === 'string' && sha1.toLowerCase() === stored.sha1));
    if (!matches) {
      const shown = JSON.stringify({ part_id: q.part_id, offset: q.offset, size: q.size, sha1: q.sha1 ?? null });
      throw partsMismatch(`No matching part found on server for ${shown}`);
    }
    seen.add(stored.offset);
  }
  if (seen.size !== s.parts.size) {
    throw partsMismatch(`The parts list has ${seen.size} parts but ${s.parts.size} parts were uploaded`);
  }
  if (s.parts.size !== s.totalParts) {
    throw partsMismatch(`The uploaded parts do not cover the file: ${s.parts.size} of ${s.totalParts} parts`);
  }
}

function parseTime(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw badRequest(`Invalid ${name}`);
  return t;
}

/** The file-level attributes Box takes along with an upload or commit. */
export function uploadAttributes(attrs: unknown): { contentCreatedAt?: number; contentModifiedAt?: number; description?: string } {
  if (attrs === undefined || attrs === null) return {};
  if (typeof attrs !== 'object') throw badRequest('Invalid attributes');
  const a = attrs as Record<string, unknown>;
  const out: { contentCreatedAt?: number; contentModifiedAt?: number; description?: string } = {};
  const created = parseTime(a.content_created_at, 'content_created_at');
  const modified = parseTime(a.content_modified_at, 'content_modified_at');
  if (created !== undefined) out.contentCreatedAt = created;
  if (modified !== undefined) out.contentModifiedAt = modified;
  if (typeof a.description === 'string') out.description = a.description;
  return out;
}

/** The target file's etag for If-Match / If-None-Match (the existing file, if any). */
function checkPreconditions(ctx: RequestContext, target: FileRecord | undefined): void {
  const etag = target === undefined ? undefined : String(target.versions.length - 1);
  const ifMatch = header(ctx.req, 'if-match');
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etag) {
    throw new BoxApiError(412, 'precondition_failed', 'The resource has been modified. Please retrieve the resource again and retry');
  }
  if (ifMatch === '*' && etag === undefined) {
    throw new BoxApiError(412, 'precondition_failed', 'The resource does not exist');
  }
  const ifNoneMatch = header(ctx.req, 'if-none-match');
  if (ifNoneMatch !== undefined && etag !== undefined && (ifNoneMatch === '*' || ifNoneMatch === etag)) {
    throw new BoxApiError(412, 'precondition_failed', 'The resource matches the If-None-Match header');
  }
}

/** 201 with Box's `Files` envelope around one file (commit and direct upload answer alike). */
export function filesReply(ctx: RequestContext, file: FileRecord): Reply {
  return jsonReply(201, { total_count: 1, entries: [ctx.env.store.fileJson(file)] });
}

/** A commit's 202, with the body the `commit202Body` option says (Box's is not documented). */
function processing(ctx: RequestContext, s: SessionRecord, retryAfterSeconds: number): Reply {
  const headers = { 'retry-after': String(retryAfterSeconds) };
  switch (ctx.env.config.commit202Body) {
    case 'json-no-body':
      return { status: 202, headers: { ...headers, 'content-type': 'application/json' } };
    case 'json-empty-object':
      return jsonReply(202, {}, headers);
    case 'json-session':
      return jsonReply(202, ctx.env.store.sessionJson(s, ctx.env.baseUrl, partsProcessed(ctx, s)), headers);
    case 'text':
      return { status: 202, headers, text: 'Accepted' };
    default:
      return { status: 202, headers };
  }
}

/** POST /files/upload_sessions/{id}/commit */
export async function commit(ctx: RequestContext): Promise<Reply> {
  const s = sessionFor(ctx);
  const digest = parseDigest(header(ctx.req, 'digest'), false);
  const body = await readJsonObject(ctx.req, ctx.env.shaper);
  // One commit of a session at a time; a second one sees the first one's outcome.
  const run = (): Promise<Reply> => commitLocked(ctx, s, digest.b64, body);
  const result = s.commitLock.then(run, run);
  s.commitLock = result.catch(() => undefined);
  return result;
}

async function commitLocked(ctx: RequestContext, s: SessionRecord, digestB64: string, body: Record<string, unknown>): Promise<Reply> {
  const { store, config } = ctx.env;
  if (s.status === 'aborted') throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
  if (s.status === 'committed') {
    // The same commit again (its answer was lost): answer as the committedSession option says; by
    // default as before, if it is the same content.
    const file = s.committedFileId === undefined ? undefined : store.files.get(s.committedFileId);
    if (file === undefined) throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');
    repeatedCommit(ctx, s, file);
    checkCommitParts(s, body.parts);
    const sha1 = Buffer.from(latest(file).sha1, 'hex').toString('base64');
    if (sha1 !== digestB64) throw badRequest(`File digest was incorrect. Actual: ${sha1} Expected: ${digestB64}`, 'digest_mismatch');
    return filesReply(ctx, file);
  }
  checkCommitParts(s, body.parts);
  const existing = s.fileId !== undefined ? store.files.get(s.fileId) : store.itemNamed(s.folderId, s.fileName)?.file;
  if (s.fileId !== undefined && existing === undefined) throw new BoxApiError(404, 'not_found', 'The file of this upload session no longer exists');
  checkPreconditions(ctx, existing);

  const cp = config.commitProcessing;
  if (cp.mode === 'count' && s.commitAttempts202 < cp.times) {
    s.commitAttempts202 += 1;
    return processing(ctx, s, cp.retryAfterSeconds);
  }
  if (cp.mode === 'proportional' && s.processingUntil > Date.now()) {
    return processing(ctx, s, cp.retryAfterSeconds);
  }

  s.wholeSha1 ??= wholeFileSha1(ctx, s);
  const actual = await s.wholeSha1;
  if (actual !== digestB64) throw badRequest(`File digest was incorrect. Actual: ${actual} Expected: ${digestB64}`, 'digest_mismatch');
  if (s.status !== 'open') throw new BoxApiError(404, 'not_found', 'Could not find the specified resource');

  const attrs = uploadAttributes(body.attributes);
  const user = userMini(principalOf(ctx));
  const now = Date.now();
  const versionId = store.newItemId();
  const versionPath = store.versionPath(versionId);
  await mkdir(path.dirname(versionPath), { recursive: true });
  // From the name check to the insertion in one turn of the event loop (renameSync): two commits of one
  // name at once cannot both pass the check.
  let file: FileRecord;
  if (s.fileId === undefined) {
    store.assertNameFree(s.folderId, s.fileName);
    file = store.newFileRecord(s.fileName, s.folderId, attrs, user, []);
  } else {
    file = existing!;
    store.assertNameFree(s.folderId, s.fileName, file.id);
  }
  renameSync(s.dataPath, versionPath);
  file.versions.push({ id: versionId, sha1: Buffer.from(actual, 'base64').toString('hex'), size: s.fileSize, path: versionPath });
  if (s.fileId === undefined) {
    store.files.set(file.id, file);
  } else {
    file.name = s.fileName;
    file.parentId = s.folderId;
    file.modifiedAt = now;
    file.modifiedBy = user;
    file.contentModifiedAt = attrs.contentModifiedAt ?? now;
    if (attrs.contentCreatedAt !== undefined) file.contentCreatedAt = attrs.contentCreatedAt;
    if (attrs.description !== undefined) file.description = attrs.description;
  }
  s.status = 'committed';
  s.committedFileId = file.id;
  return filesReply(ctx, file);
}
