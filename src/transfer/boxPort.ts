// The part of the Box client (src/box, notes/api-box-client.md) that the transfer domain uses.
// Declared structurally so the domain depends on the contract, not on the client's internals;
// the real BoxClient satisfies it.
import type { Readable } from 'node:stream';

export interface UploadSessionLike {
  id: string;
  part_size: number;
  total_parts: number;
  session_endpoints: {
    upload_part: string;
    commit: string;
    abort: string;
    list_parts: string;
    status: string;
    log_event?: string;
  };
}

export interface UploadPartLike {
  part_id: string;
  offset: number;
  size: number;
  sha1?: string | null;
}

export interface BoxFileLike {
  type: 'file';
  id: string;
  name?: string;
  size?: number;
  sha1?: string;
  file_version?: { id: string; sha1?: string };
  parent?: { id: string } | null;
}

export type CommitResultLike =
  | { status: 'committed'; files: { total_count?: number; entries: BoxFileLike[] } }
  | { status: 'processing'; retryAfterSeconds: number };

export interface RequestOpts {
  extraHeaders?: Record<string, string>;
  signal?: AbortSignal;
}

export interface BoxClientLike {
  chunkedUploads: {
    createFileUploadSession(
      body: { folderId: string; fileSize: number; fileName: string },
      opts?: RequestOpts,
    ): Promise<UploadSessionLike>;
    createFileUploadSessionForExistingFile(
      fileId: string,
      body: { fileSize: number; fileName?: string },
      opts?: RequestOpts,
    ): Promise<UploadSessionLike>;
    uploadFilePartByUrl(
      url: string,
      body: Uint8Array,
      headers: { digest: string; contentRange: string },
      opts?: RequestOpts,
    ): Promise<{ part: UploadPartLike }>;
    getFileUploadSessionPartsByUrl(
      url: string,
      query?: { offset?: number; limit?: number },
      opts?: RequestOpts,
    ): Promise<{ total_count: number; entries: UploadPartLike[]; offset?: number; limit?: number }>;
    createFileUploadSessionCommitByUrl(
      url: string,
      body: { parts: UploadPartLike[]; attributes?: Record<string, unknown> },
      headers: { digest: string; ifMatch?: string; ifNoneMatch?: string },
      opts?: RequestOpts,
    ): Promise<CommitResultLike>;
    deleteFileUploadSessionByUrl(url: string, opts?: RequestOpts): Promise<void>;
  };
  files: {
    uploadFile(
      body: {
        parentFolderId: string;
        fileName: string;
        file: Readable | Uint8Array;
        fileSize: number;
        contentModifiedAt?: string;
        sha1Hex?: string;
      },
      opts?: RequestOpts,
    ): Promise<BoxFileLike>;
    uploadFileVersion(
      fileId: string,
      body: {
        fileName?: string;
        file: Readable | Uint8Array;
        fileSize: number;
        contentModifiedAt?: string;
        sha1Hex?: string;
        ifMatch?: string;
      },
      opts?: RequestOpts,
    ): Promise<BoxFileLike>;
  };
}
