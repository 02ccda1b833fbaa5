// BoxClient: one HTTP stack (pooled keep-alive connections, auth, retries) shared by the managers.
import type { Dispatcher } from 'undici';
import type { BoxAuth } from './auth.ts';
import { ChunkedUploadsManager } from './chunkedUploads.ts';
import { FilesManager } from './files.ts';
import { FoldersManager } from './folders.ts';
import { MetadataManager } from './metadata.ts';
import { BoxHttp, type BoxLogger, type RetryOptions, type TimeoutOptions } from './http.ts';
import { trimBase } from './requestOptions.ts';

export const DEFAULT_API_URL = 'https://api.box.com';
export const DEFAULT_UPLOAD_URL = 'https://upload.box.com/api';

export interface BoxClientOptions {
  auth: BoxAuth;
  /** API base as the official SDK takes it (default https://api.box.com): `/2.0/...` is appended; tokens at `{apiUrl}/oauth2/token`. */
  apiUrl?: string;
  /** Upload base (default https://upload.box.com/api): `/2.0/...` is appended. */
  uploadUrl?: string;
  /** Retries of 429, 5xx and network errors. */
  retry?: RetryOptions;
  timeouts?: TimeoutOptions;
  /** Keep-alive connections per origin (default 32); keep it at least the upload concurrency. */
  connections?: number;
  userAgent?: string;
  /** Retries, renewals and session clean-ups are reported here (never with a token or secret). */
  logger?: BoxLogger;
  /** An undici dispatcher to use instead of the client's own Agent (the caller then closes it). */
  dispatcher?: Dispatcher;
}

export class BoxClient {
  readonly apiUrl: string;
  readonly uploadUrl: string;
  readonly chunkedUploads: ChunkedUploadsManager;
  readonly files: FilesManager;
  readonly folders: FoldersManager;
  readonly metadata: MetadataManager;
  readonly #http: BoxHttp;

  constructor(options: BoxClientOptions) {
    this.apiUrl = trimBase(options.apiUrl ?? DEFAULT_API_URL);
    this.uploadUrl = trimBase(options.uploadUrl ?? DEFAULT_UPLOAD_URL);
    this.#http = new BoxHttp({
      auth: options.auth,
      tokenUrl: `${this.apiUrl}/oauth2/token`,
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
      ...(options.timeouts !== undefined ? { timeouts: options.timeouts } : {}),
      ...(options.connections !== undefined ? { connections: options.connections } : {}),
      ...(options.userAgent !== undefined ? { userAgent: options.userAgent } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.dispatcher !== undefined ? { dispatcher: options.dispatcher } : {}),
      trustedUrls: [this.apiUrl, this.uploadUrl],
    });
    this.files = new FilesManager(this.#http, this.apiUrl, this.uploadUrl);
    this.folders = new FoldersManager(this.#http, this.apiUrl);
    this.chunkedUploads = new ChunkedUploadsManager(this.#http, this.uploadUrl, options.logger, { files: this.files, folders: this.folders });
    this.metadata = new MetadataManager(this.#http, this.apiUrl);
  }

  /** Closes the pooled connections (waits for requests in flight). */
  close(): Promise<void> {
    return this.#http.close();
  }

  /** Ends the client's connections at once, failing the requests in flight (a run stopped by its user). */
  destroy(): Promise<void> {
    return this.#http.destroy();
  }
}
