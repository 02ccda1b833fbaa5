// What the transfer operations need from the outside world.
import type { S3Client } from '@aws-sdk/client-s3';
import type { BoxClientLike } from './boxPort.ts';
import type { Logger } from './logger.ts';
import type { TransferSettings } from './settings.ts';

/**
 * Fine-grained progress inside one invocation, for a live display when the handlers run locally
 * (the CLI). Lambda has nobody to tell, so in AWS it is absent and costs nothing.
 */
export type TransferProgressEvent =
  | { type: 'part-uploaded'; offset: number; size: number; alreadyUploaded: boolean }
  | { type: 'hashed'; offset: number; size: number };

export interface TransferDeps {
  s3: S3Client;
  /** The Box client, built lazily (credentials are fetched on first use). */
  box: () => Promise<BoxClientLike>;
  settings: TransferSettings;
  logger: Logger;
  onProgress?: ((event: TransferProgressEvent) => void) | undefined;
}
