// FilesManager: direct (single-request) upload of a new file or a new version, the preflight check, file info, download.
// Direct upload is Box's path for files under 20,000,000 bytes: multipart/form-data with the
// `attributes` JSON part before the `file` part (Box answers 400 metadata_after_file_contents otherwise).
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BoxError, BoxIntegrityError, BoxSourceSizeMismatchError } from './errors.ts';
import { sha1Hex } from './helpers.ts';
import { abortableSleep, describeRequest, parseRetryAfter, type BoxHttp } from './http.ts';
import { idSegment, mergeHeaders, type RequestOptions } from './requestOptions.ts';
import type { BoxFile, Files } from './types.ts';

export interface UploadFileRequest {
  parentFolderId: string;
  fileName: string;
  /** A Uint8Array is resent on retries; a stream is sent once (not retried). */
  file: Readable | AsyncIterable<Uint8Array> | Uint8Array;
  fileSize: number;
  /** ISO 8601 date-time. */
  contentModifiedAt?: string;
  contentCreatedAt?: string;
  /** Hex SHA-1 of the content, sent as Content-MD5 (Box checks it). Computed here when `file` is a Uint8Array. */
  sha1Hex?: string;
}

export interface UploadFileVersionRequest {
  /** Rename the file with the new version. */
  fileName?: string;
  file: Readable | AsyncIterable<Uint8Array> | Uint8Array;
  fileSize: number;
  contentModifiedAt?: string;
  /** Hex SHA-1 of the content, sent as Content-MD5 (Box checks it). Computed here when `file` is a Uint8Array. */
  sha1Hex?: string;
  /** Upload only if the file's current etag is this one. */
  ifMatch?: string;
}

const MAX_REDIRECTS = 5;
/** GET content may answer 202 + Retry-After while a fresh upload is being processed. */
const MAX_DOWNLOAD_NOT_READY_WAITS = 10;

/** A file name safe inside a Content-Disposition quoted string (Box takes the name from `attributes`). */
function dispositionFileName(name: string): string {
  return name.replace(/["\\\r\n]/g, '_');
}

interface MultipartBody {
  body: Uint8Array | Readable;
  contentType: string;
  contentLength: number;
}

function multipartBody(attributes: Record<string, unknown>, fileName: string, file: UploadFileRequest['file'], fileSize: number): MultipartBody {
  const boundary = `s3-to-box-${randomBytes(16).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${JSON.stringify(attributes)}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${dispositionFileName(fileName)}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const contentType = `multipart/form-data; boundary=${boundary}`;
  const contentLength = head.length + fileSize + tail.length;
  if (file instanceof Uint8Array) {
    if (file.length !== fileSize) {
      throw new BoxSourceSizeMismatchError(`the content holds ${file.length} bytes, not the declared ${fileSize}`, { status: 0 });
    }
    return { body: Buffer.concat([head, file, tail]), contentType, contentLength };
  }
  async function* stream(): AsyncGenerator<Uint8Array> {
    yield head;
    let sent = 0;
    for await (const chunk of file as AsyncIterable<Uint8Array>) {
      sent += chunk.length;
      if (sent > fileSize) throw new BoxSourceSizeMismatchError(`the source holds more than the declared ${fileSize} bytes`, { status: 0 });
      yield chunk;
    }
    if (sent !== fileSize) throw new BoxSourceSizeMismatchError(`the source ended after ${sent} of the declared ${fileSize} bytes`, { status: 0 });
    yield tail;
  }
  return { body: Readable.from(stream(), { objectMode: false }), contentType, contentLength };
}

export class FilesManager {
  readonly #http: BoxHttp;
  readonly #apiUrl: string;
  readonly #uploadUrl: string;

  constructor(http: BoxHttp, apiUrl: string, uploadUrl: string) {
    this.#http = http;
    this.#apiUrl = apiUrl;
    this.#uploadUrl = uploadUrl;
  }

  async #upload(url: string, attributes: Record<string, unknown>, fileName: string, request: UploadFileRequest | UploadFileVersionRequest, ifMatch: string | undefined, opts?: RequestOptions): Promise<BoxFile> {
    const multipart = multipartBody(attributes, fileName, request.file, request.fileSize);
    // Box checks Content-MD5 (a hex SHA-1) against what it received: free integrity for bytes in memory.
    // A stream is not read twice, so it carries one only when the caller knows it.
    const contentSha1 = request.sha1Hex ?? (request.file instanceof Uint8Array ? sha1Hex(request.file) : undefined);
    const sourceErrors: unknown[] = [];
    if (multipart.body instanceof Readable) multipart.body.on('error', (error) => sourceErrors.push(error));
    let response;
    try {
      response = await this.#http.send({
        method: 'POST',
        url,
        headers: mergeHeaders(
          {
            'content-type': multipart.contentType,
            'content-length': String(multipart.contentLength),
            'content-md5': contentSha1,
            'if-match': ifMatch,
          },
          opts?.extraHeaders,
        ),
        body: multipart.body,
        signal: opts?.signal,
        responseType: 'json',
        // Box may have stored it although the answer was lost: sent again blindly, it would become a
        // second version (or meet 409). The caller looks first (see src/transfer/direct.ts).
        retryAfterServerError: false,
      });
    } catch (error) {
      // The network error of a failing source is the source's own error.
      const sourceError = sourceErrors[0];
      if (sourceError instanceof BoxError) throw sourceError;
      throw error;
    }
    const files = response.json as Files | undefined;
    const file = files?.entries?.[0];
    if (!file) throw new BoxIntegrityError(`${describeRequest('POST', url)} answered ${response.status} without a file`, { status: response.status });
    return file;
  }

  /** POST {uploadUrl}/2.0/files/content: a new file (for files under 20,000,000 bytes). */
  uploadFile(request: UploadFileRequest, opts?: RequestOptions): Promise<BoxFile> {
    const attributes: Record<string, unknown> = { name: request.fileName, parent: { id: request.parentFolderId } };
    if (request.contentCreatedAt !== undefined) attributes.content_created_at = request.contentCreatedAt;
    if (request.contentModifiedAt !== undefined) attributes.content_modified_at = request.contentModifiedAt;
    return this.#upload(`${this.#uploadUrl}/2.0/files/content`, attributes, request.fileName, request, undefined, opts);
  }

  /** POST {uploadUrl}/2.0/files/{fileId}/content: a new version of a file. */
  uploadFileVersion(fileId: string, request: UploadFileVersionRequest, opts?: RequestOptions): Promise<BoxFile> {
    const attributes: Record<string, unknown> = {};
    if (request.fileName !== undefined) attributes.name = request.fileName;
    if (request.contentModifiedAt !== undefined) attributes.content_modified_at = request.contentModifiedAt;
    return this.#upload(
      `${this.#uploadUrl}/2.0/files/${idSegment(fileId)}/content`,
      attributes,
      request.fileName ?? 'file',
      request,
      request.ifMatch,
      opts,
    );
  }

  /**
   * OPTIONS {apiUrl}/2.0/files/content: Box's preflight check of a new file's name in a folder, without
   * uploading. Resolves when Box would accept it; a name already taken rejects with Box.Conflict
   * `item_name_in_use`, whose `context_info.conflicts` names the item that holds it (an object or a list:
   * Box's shape is not confirmed). `size` is left out unless given (Box declares it int32).
   */
  async preflightCheck(request: { name: string; parentFolderId: string; size?: number }, opts?: RequestOptions): Promise<{ uploadUrl?: string }> {
    const response = await this.#http.send({
      method: 'OPTIONS',
      url: `${this.#apiUrl}/2.0/files/content`,
      headers: mergeHeaders({ 'content-type': 'application/json' }, opts?.extraHeaders),
      body: JSON.stringify({ name: request.name, parent: { id: request.parentFolderId }, ...(request.size !== undefined ? { size: request.size } : {}) }),
      signal: opts?.signal,
      responseType: 'json',
    });
    const json = response.json as { upload_url?: unknown } | undefined;
    return typeof json?.upload_url === 'string' ? { uploadUrl: json.upload_url } : {};
  }

  /** GET {apiUrl}/2.0/files/{fileId}. */
  async getFile(fileId: string, opts?: RequestOptions): Promise<BoxFile> {
    const response = await this.#http.send({
      method: 'GET',
      url: `${this.#apiUrl}/2.0/files/${idSegment(fileId)}`,
      headers: mergeHeaders({}, opts?.extraHeaders),
      signal: opts?.signal,
      responseType: 'json',
    });
    if (typeof response.json !== 'object' || response.json === null) {
      throw new BoxIntegrityError(`GET file answered ${response.status} without a file`, { status: response.status });
    }
    return response.json as BoxFile;
  }

  /**
   * GET {apiUrl}/2.0/files/{fileId}/content, following Box's redirect to its download host (without
   * the Authorization header when the redirect leaves the API origin). Resolves with the body stream.
   */
  async downloadFile(fileId: string, opts?: RequestOptions): Promise<Readable> {
    const start = `${this.#apiUrl}/2.0/files/${idSegment(fileId)}/content`;
    const origin = new URL(start).origin;
    let url = start;
    let redirects = 0;
    let notReadyWaits = 0;
    for (;;) {
      const sameOrigin = new URL(url).origin === origin;
      const response = await this.#http.send({
        method: 'GET',
        url,
        headers: mergeHeaders({}, sameOrigin ? opts?.extraHeaders : undefined),
        authenticated: sameOrigin,
        signal: opts?.signal,
        responseType: 'stream',
      });
      if (response.stream) return response.stream;
      const location = response.headers.location;
      if (response.status >= 300 && response.status < 400 && location !== undefined) {
        if (++redirects > MAX_REDIRECTS) throw new BoxIntegrityError(`GET file content redirected more than ${MAX_REDIRECTS} times`, { status: response.status });
        url = new URL(location, url).toString();
        continue;
      }
      if (response.status === 202 && notReadyWaits < MAX_DOWNLOAD_NOT_READY_WAITS) {
        notReadyWaits++;
        await abortableSleep((parseRetryAfter(response.headers['retry-after']) ?? 1) * 1000, opts?.signal);
        continue;
      }
      throw new BoxIntegrityError(`GET file content answered ${response.status} without content`, { status: response.status });
    }
  }
}
