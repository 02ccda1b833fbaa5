// ChunkedUploadsManager: every operation of the Box SDK's manager of the same name (create a session for
// a new file or a new version, get, upload a part, abort, list parts, commit; each by id and by URL),
// plus uploadBigFile / uploadBigFileVersion. Session operations by URL follow session_endpoints as given.
import type { Readable } from 'node:stream';
import { assertFileSize, releaseSource, runChunkedUpload, type UploadBigFileOptions, type UploadBigFileVersionOptions } from './bigUpload.ts';
import {
  BoxConflictError,
  BoxDigestMismatchError,
  BoxIntegrityError,
  BoxPartDigestRejectedError,
  BoxPreconditionFailedError,
  BoxRangeError,
  BoxUnreadableAnswerError,
  type BoxError,
} from './errors.ts';
import { base64ToHex, parseContentRange, parseSha1Digest, sha1Hex } from './helpers.ts';
import { parseRetryAfter, type BoxHttp, type BoxLogger } from './http.ts';
import type { LandedLookups } from './landed.ts';
import { idSegment, mergeHeaders, withQuery, type RequestOptions } from './requestOptions.ts';
import type { BoxFile, CommitResult, Files, UploadedPart, UploadPart, UploadParts, UploadSession } from './types.ts';

export interface CreateFileUploadSessionRequest {
  folderId: string;
  fileSize: number;
  fileName: string;
}

export interface CreateFileUploadSessionForExistingFileRequest {
  fileSize: number;
  fileName?: string;
}

export interface UploadFilePartHeaders {
  /** `sha=<base64 SHA-1 of the body>` (see digestHeader/sha1Base64). */
  digest: string;
  /** `bytes <first>-<last>/<file size>` (see contentRangeHeader). */
  contentRange: string;
}

export interface UploadFilePartOptions extends RequestOptions {
  /** session_endpoints.list_parts, where a 416 overlap is checked (default: the upload URL + `/parts`). */
  listPartsUrl?: string | undefined;
}

/** Box's list parts refuses an offset (a part index) above this (400): a session with more parts cannot be listed in full. */
export const MAX_LIST_PARTS_OFFSET = 10_000;

/** 409 codes that are about names or sessions, never about a part's range. */
const NOT_A_PART_CONFLICT = new Set(['item_name_in_use', 'session_conflict', 'name_temporarily_reserved']);

/**
 * A part PUT refused because a part is stored at its range: 416 range_overlaps_existing_part (a 416
 * without a code whose message says it overlaps too), or 409, Box's API description's "chunk conflicts
 * with another chunk previously uploaded" (its code is unknown: any 409 but the name and session ones).
 */
function isRangeOverlap(error: unknown): error is BoxRangeError | BoxConflictError {
  if (error instanceof BoxConflictError) return error.code === undefined || !NOT_A_PART_CONFLICT.has(error.code);
  if (!(error instanceof BoxRangeError)) return false;
  return error.code === 'range_overlaps_existing_part' || (error.code === undefined && /overlap/i.test(error.message));
}

/**
 * Box refused a part for its Digest: 412 (most likely, per Box's API description) or 400 `digest_mismatch`
 * (Box's answer to a wrong whole-file digest at commit). No If-Match goes with a part, so a 412 can mean nothing else.
 */
function isPartDigestRefusal(error: unknown): error is BoxError {
  return error instanceof BoxPreconditionFailedError || error instanceof BoxDigestMismatchError;
}

export interface PartsQuery {
  /** Index of the first part (parts, not bytes). */
  offset?: number;
  /** At most 1000. */
  limit?: number;
}

export interface CommitRequest {
  /** Sent sorted by offset. */
  parts: UploadPart[];
  /** File attributes, e.g. `{ content_modified_at: '2026-01-01T00:00:00Z' }`. */
  attributes?: Record<string, unknown>;
}

export interface CommitHeaders {
  /** `sha=<base64 SHA-1 of the whole file>`. */
  digest: string;
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** Retry-After assumed for a 202 that carries none (Box documents that it does). */
const DEFAULT_COMMIT_RETRY_AFTER_SECONDS = 5;

/** The part Box stored must be the one sent: same offset and size as the range, same SHA-1 as the digest. */
function checkEcho(part: UploadPart, headers: UploadFilePartHeaders, status: number): void {
  const range = parseContentRange(headers.contentRange);
  const digest = parseSha1Digest(headers.digest);
  const sha1 = digest === undefined ? undefined : base64ToHex(digest);
  if (
    (range !== undefined && (part.offset !== range.offset || part.size !== range.size)) ||
    (sha1 !== undefined && part.sha1.toLowerCase() !== sha1)
  ) {
    throw new BoxIntegrityError(
      `Box stored the part as offset ${part.offset}, size ${part.size}, sha1 ${part.sha1}; sent ${headers.contentRange}, sha1 ${sha1 ?? 'unknown'}`,
      { status, request: 'PUT upload part' },
    );
  }
}

function isUploadPart(value: unknown): value is UploadPart {
  if (typeof value !== 'object' || value === null) return false;
  const part = value as Record<string, unknown>;
  return typeof part.part_id === 'string' && typeof part.offset === 'number' && typeof part.size === 'number' && typeof part.sha1 === 'string';
}

/** A success answer without the object it should carry: what was asked may have been done (Box.UnreadableAnswer, never terminal). */
function expectJson<T>(json: unknown, what: string, request: string, status: number): T {
  if (typeof json !== 'object' || json === null) {
    throw new BoxUnreadableAnswerError(`${request} answered ${status} without the expected ${what}`, { status, request });
  }
  return json as T;
}

export class ChunkedUploadsManager {
  readonly #http: BoxHttp;
  readonly #uploadUrl: string;
  readonly #logger: BoxLogger | undefined;
  readonly #lookups: LandedLookups | undefined;

  /**
   * @param uploadUrl the upload base, e.g. `https://upload.box.com/api` (the manager appends `/2.0/...`).
   * @param lookups file and folder reads with which uploadBigFile finds out whether a commit whose answer
   *   was lost landed (BoxClient passes its own managers); without them such a commit is simply sent again.
   */
  constructor(http: BoxHttp, uploadUrl: string, logger?: BoxLogger, lookups?: LandedLookups) {
    this.#http = http;
    this.#uploadUrl = uploadUrl;
    this.#logger = logger;
    this.#lookups = lookups;
  }

  #sessionUrl(uploadSessionId: string): string {
    return `${this.#uploadUrl}/2.0/files/upload_sessions/${idSegment(uploadSessionId)}`;
  }

  async #createSession(url: string, body: Record<string, unknown>, opts: RequestOptions | undefined): Promise<UploadSession> {
    // Whether an earlier attempt of this create may have reached Box (a 5xx or a network error; a 429
    // was not processed).
    let earlierAttemptMayHaveLanded = false;
    try {
      const response = await this.#http.send({
        method: 'POST',
        url,
        headers: mergeHeaders({ 'content-type': 'application/json' }, opts?.extraHeaders),
        body: JSON.stringify(body),
        signal: opts?.signal,
        responseType: 'json',
        onRetry: (failure) => {
          if (failure.status !== 429) earlierAttemptMayHaveLanded = true;
        },
      });
      return expectJson<UploadSession>(response.json, 'upload session', 'POST create upload session', response.status);
    } catch (error) {
      // Box answers session_conflict when a session for the same folder, name and size is open. After an
      // attempt of this very create whose answer was lost, that session is the one we asked for (Box's web
      // uploader reuses it too). Otherwise it belongs to someone else (another upload of the same name and
      // size) and the 409 is thrown: sharing it would mix two uploads' parts.
      const session =
        earlierAttemptMayHaveLanded && error instanceof BoxConflictError && error.code === 'session_conflict' ? error.contextInfo?.session : undefined;
      if (typeof session === 'object' && session !== null && 'session_endpoints' in session) {
        this.#logger?.debug?.('box create session: reusing the session of a session_conflict', { request: error instanceof BoxConflictError ? error.request : undefined });
        return session as UploadSession;
      }
      throw error;
    }
  }

  /** POST {uploadUrl}/2.0/files/upload_sessions: a session for a new file. */
  createFileUploadSession(request: CreateFileUploadSessionRequest, opts?: RequestOptions): Promise<UploadSession> {
    return this.#createSession(
      `${this.#uploadUrl}/2.0/files/upload_sessions`,
      { folder_id: request.folderId, file_size: request.fileSize, file_name: request.fileName },
      opts,
    );
  }

  /** POST {uploadUrl}/2.0/files/{fileId}/upload_sessions: a session for a new version of a file. */
  createFileUploadSessionForExistingFile(
    fileId: string,
    request: CreateFileUploadSessionForExistingFileRequest,
    opts?: RequestOptions,
  ): Promise<UploadSession> {
    const body: Record<string, unknown> = { file_size: request.fileSize };
    if (request.fileName !== undefined) body.file_name = request.fileName;
    return this.#createSession(`${this.#uploadUrl}/2.0/files/${idSegment(fileId)}/upload_sessions`, body, opts);
  }

  /** GET session_endpoints.status. */
  async getFileUploadSessionByUrl(url: string, opts?: RequestOptions): Promise<UploadSession> {
    const response = await this.#http.send({
      method: 'GET',
      url,
      headers: mergeHeaders({}, opts?.extraHeaders),
      signal: opts?.signal,
      responseType: 'json',
    });
    return expectJson<UploadSession>(response.json, 'upload session', 'GET upload session', response.status);
  }

  getFileUploadSessionById(uploadSessionId: string, opts?: RequestOptions): Promise<UploadSession> {
    return this.getFileUploadSessionByUrl(this.#sessionUrl(uploadSessionId), opts);
  }

  /**
   * PUT one part to session_endpoints.upload_part. The part Box echoes back must have the offset and
   * size of `contentRange` and the SHA-1 of `digest` (else Box.IntegrityError), so every caller gets
   * that check.
   *
   * A 416 range_overlaps_existing_part (or a 409 "chunk conflicts with another chunk previously
   * uploaded": which one Box sends is not confirmed) means a part is already stored at this range (a retry after
   * "stored, then 500", or a batch that runs again). Box's body for it is unconfirmed (maybe a
   * `context_info.conflicting_part`, maybe with its sha1, maybe only a message), so it is never
   * trusted: the stored part is looked up in list parts (`opts.listPartsUrl`, default the upload URL +
   * `/parts` as Box builds it). Same offset, size and SHA-1 as this body → resolves with the stored part
   * and `alreadyUploaded`; other bytes → Box.IntegrityError (the session holds a part that can never be
   * committed as this file); no such part listed → the 416 (Box.RangeNotSatisfiable) or the 409 (Box.Conflict).
   *
   * A part refused for its Digest (412, or 400 `digest_mismatch`: Box's status is not documented) was
   * not stored: Box.PartDigestRejected, never terminal; the caller sends the bytes again (UploadBatch reads
   * the range again first). Box.DigestMismatch stays the whole-file digest at commit.
   */
  async uploadFilePartByUrl(url: string, body: Uint8Array, headers: UploadFilePartHeaders, opts?: UploadFilePartOptions): Promise<UploadedPart> {
    try {
      const response = await this.#http.send({
        method: 'PUT',
        url,
        headers: mergeHeaders(
          { 'content-type': 'application/octet-stream', digest: headers.digest, 'content-range': headers.contentRange },
          opts?.extraHeaders,
        ),
        body,
        signal: opts?.signal,
        responseType: 'json',
      });
      const uploaded = expectJson<UploadedPart>(response.json, 'part', 'PUT upload part', response.status);
      if (!isUploadPart(uploaded.part)) {
        throw new BoxUnreadableAnswerError('PUT upload part answered without a part', { status: response.status, request: 'PUT upload part' });
      }
      checkEcho(uploaded.part, headers, response.status);
      return uploaded;
    } catch (error) {
      if (isPartDigestRefusal(error)) {
        throw new BoxPartDigestRejectedError(`${error.message} (the part was not stored; send its bytes again)`, error.wrapDetails());
      }
      if (!isRangeOverlap(error)) throw error;
      const range = parseContentRange(headers.contentRange);
      if (range === undefined) throw error;
      const listPartsUrl = opts?.listPartsUrl ?? `${url.replace(/\/+$/, '')}/parts`;
      const stored = await this.#storedPartAt(listPartsUrl, range.offset, body.length, opts);
      if (stored === undefined) {
        const Refusal = error instanceof BoxConflictError ? BoxConflictError : BoxRangeError;
        throw new Refusal(`${error.message}; list parts shows no part at offset ${range.offset}`, error.wrapDetails());
      }
      const ours = sha1Hex(body);
      if (stored.size !== body.length || (typeof stored.sha1 === 'string' && stored.sha1.toLowerCase() !== ours)) {
        throw new BoxIntegrityError(
          `Box holds another part at offset ${range.offset} (size ${stored.size}, sha1 ${String(stored.sha1)}) than the one sent (size ${body.length}, sha1 ${ours}); the session cannot be committed with these bytes`,
          error.wrapDetails(),
        );
      }
      this.#logger?.debug?.('box part already stored with the same bytes', { offset: stored.offset, size: stored.size });
      return { part: { ...stored, sha1: typeof stored.sha1 === 'string' ? stored.sha1 : ours }, alreadyUploaded: true };
    }
  }

  /**
   * The part Box lists at `offset`. Box pages list parts by part index, so for a part of a full part
   * size the page starting at offset / size holds it; otherwise (the last part, or a listing that is
   * not sorted) every page is read.
   */
  async #storedPartAt(listPartsUrl: string, offset: number, size: number, opts: RequestOptions | undefined): Promise<UploadPart | undefined> {
    const index = size > 0 && offset % size === 0 ? offset / size : undefined;
    if (index !== undefined && index <= MAX_LIST_PARTS_OFFSET) {
      const page = await this.getFileUploadSessionPartsByUrl(listPartsUrl, { offset: index, limit: 1 }, opts);
      const hit = page.entries.find((p) => p.offset === offset);
      if (hit !== undefined) return hit;
    }
    const all = await this.getAllFileUploadSessionPartsByUrl(listPartsUrl, opts);
    return all.find((p) => p.offset === offset);
  }

  uploadFilePart(uploadSessionId: string, body: Uint8Array, headers: UploadFilePartHeaders, opts?: UploadFilePartOptions): Promise<UploadedPart> {
    return this.uploadFilePartByUrl(this.#sessionUrl(uploadSessionId), body, headers, opts);
  }

  /** DELETE session_endpoints.abort (Box answers 204). */
  async deleteFileUploadSessionByUrl(url: string, opts?: RequestOptions): Promise<void> {
    await this.#http.send({ method: 'DELETE', url, headers: mergeHeaders({}, opts?.extraHeaders), signal: opts?.signal, responseType: 'none' });
  }

  deleteFileUploadSessionById(uploadSessionId: string, opts?: RequestOptions): Promise<void> {
    return this.deleteFileUploadSessionByUrl(this.#sessionUrl(uploadSessionId), opts);
  }

  /** GET session_endpoints.list_parts, one page (offset and limit count parts). */
  async getFileUploadSessionPartsByUrl(url: string, query?: PartsQuery, opts?: RequestOptions): Promise<UploadParts> {
    const response = await this.#http.send({
      method: 'GET',
      url: withQuery(url, { offset: query?.offset, limit: query?.limit }),
      headers: mergeHeaders({}, opts?.extraHeaders),
      signal: opts?.signal,
      responseType: 'json',
    });
    return expectJson<UploadParts>(response.json, 'parts list', 'GET upload session parts', response.status);
  }

  getFileUploadSessionParts(uploadSessionId: string, query?: PartsQuery, opts?: RequestOptions): Promise<UploadParts> {
    return this.getFileUploadSessionPartsByUrl(`${this.#sessionUrl(uploadSessionId)}/parts`, query, opts);
  }

  /** Every stored part, all pages (1000 at a time), sorted by offset. */
  async getAllFileUploadSessionPartsByUrl(url: string, opts?: RequestOptions): Promise<UploadPart[]> {
    const all: UploadPart[] = [];
    for (let offset = 0; ; ) {
      const page = await this.getFileUploadSessionPartsByUrl(url, { offset, limit: 1000 }, opts);
      all.push(...page.entries);
      offset += page.entries.length;
      if (page.entries.length === 0 || offset >= page.total_count) break;
    }
    return all.sort((a, b) => a.offset - b.offset);
  }

  /**
   * POST session_endpoints.commit. 201 → `committed` with the files; 202 → `processing` with the
   * seconds Box asked to wait (Retry-After). Parts are sent sorted by offset. A 429 is retried (Box did
   * not process it); a 5xx or a network error is not: the commit may have landed although its answer was
   * lost, so the caller finds out before committing again (uploadBigFile and the Commit Lambda do).
   * The body of a 202 is not documented: it is never read (empty, `{}`, a session, text: all `processing`).
   * Any other success without the file (not JSON, no entries) is Box.UnreadableAnswer, handled as a lost
   * answer: the commit may have landed.
   */
  async createFileUploadSessionCommitByUrl(url: string, request: CommitRequest, headers: CommitHeaders, opts?: RequestOptions): Promise<CommitResult> {
    const body: Record<string, unknown> = { parts: [...request.parts].sort((a, b) => a.offset - b.offset) };
    if (request.attributes !== undefined) body.attributes = request.attributes;
    const response = await this.#http.send({
      method: 'POST',
      url,
      headers: mergeHeaders(
        { 'content-type': 'application/json', digest: headers.digest, 'if-match': headers.ifMatch, 'if-none-match': headers.ifNoneMatch },
        opts?.extraHeaders,
      ),
      body: JSON.stringify(body),
      signal: opts?.signal,
      responseType: 'json',
      ignoreBodyOf: [202],
      retryAfterServerError: false,
    });
    if (response.status === 202) {
      const retryAfterSeconds = parseRetryAfter(response.headers['retry-after']) ?? DEFAULT_COMMIT_RETRY_AFTER_SECONDS;
      return { status: 'processing', retryAfterSeconds };
    }
    const files = expectJson<Files>(response.json, 'files', 'POST commit upload session', response.status);
    if (!Array.isArray(files.entries) || files.entries.length === 0) {
      throw new BoxUnreadableAnswerError(`POST commit upload session answered ${response.status} without the file; the commit may have landed`, {
        status: response.status,
        request: 'POST commit upload session',
      });
    }
    return { status: 'committed', files };
  }

  createFileUploadSessionCommit(uploadSessionId: string, request: CommitRequest, headers: CommitHeaders, opts?: RequestOptions): Promise<CommitResult> {
    return this.createFileUploadSessionCommitByUrl(`${this.#sessionUrl(uploadSessionId)}/commit`, request, headers, opts);
  }

  /**
   * Uploads a file of `fileSize` bytes read from `file` into folder `parentFolderId` as `fileName`
   * through a chunked session: parts in parallel (options.concurrency, default 4), whole-file SHA-1
   * as it reads, commit loop on 202 / transient parts_mismatch, session aborted on any fatal error.
   */
  async uploadBigFile(
    file: Readable | AsyncIterable<Uint8Array>,
    fileName: string,
    fileSize: number,
    parentFolderId: string,
    options: UploadBigFileOptions = {},
  ): Promise<BoxFile> {
    assertFileSize(fileSize);
    const session = await this.createFileUploadSession(
      { folderId: parentFolderId, fileSize, fileName },
      { extraHeaders: options.extraHeaders, signal: options.signal },
    ).catch((error: unknown) => {
      releaseSource(file);
      throw error;
    });
    const landed = this.#lookups === undefined ? undefined : { lookups: this.#lookups, target: { folderId: parentFolderId, fileName } };
    return runChunkedUpload(this, session, file, fileSize, options, this.#logger, landed);
  }

  /** Like uploadBigFile, as a new version of file `fileId` (optionally renamed to options.fileName). */
  async uploadBigFileVersion(
    fileId: string,
    file: Readable | AsyncIterable<Uint8Array>,
    fileSize: number,
    options: UploadBigFileVersionOptions = {},
  ): Promise<BoxFile> {
    assertFileSize(fileSize);
    const session = await this.createFileUploadSessionForExistingFile(
      fileId,
      options.fileName === undefined ? { fileSize } : { fileSize, fileName: options.fileName },
      { extraHeaders: options.extraHeaders, signal: options.signal },
    ).catch((error: unknown) => {
      releaseSource(file);
      throw error;
    });
    // The session names its file; a rename travels with it. The folder is the file's own.
    const landed = this.#lookups === undefined ? undefined : { lookups: this.#lookups, target: { folderId: '', fileName: options.fileName ?? '', fileId } };
    return runChunkedUpload(this, session, file, fileSize, options, this.#logger, landed);
  }
}
