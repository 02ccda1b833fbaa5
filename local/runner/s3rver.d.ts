// s3rver 3.7.1 ships no types: the part of its API that local/runner uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  import type { Readable } from 'node:stream';

  export interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    serviceEndpoint?: string;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  /** What s3rver hands its store to write: the request body and the metadata to keep. */
  export interface S3rverStoredObject {
    bucket: string;
    key: string;
    content: Readable | Buffer;
    metadata: Record<string, string>;
  }

  /** The parts of s3rver's FilesystemStore that local/runner/s3rver-durable.ts replaces or calls. */
  export interface S3rverStore {
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    putObject(object: S3rverStoredObject): Promise<{ size: number; md5: string }>;
    putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }>;
    /** An object's bytes (a file stream of the range asked for, or none when unsatisfiable) and metadata; null when missing. */
    getObject(bucket: string, key: string, range?: { start?: number; end?: number }): Promise<{ content: Readable | null; metadata: Record<string, string> } | null>;
  }

  export default class S3rver {
    store: S3rverStore;
    constructor(options?: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    reset(): void;
    on(event: 'event', listener: (event: unknown) => void): this;
  }
}
