// What the transfer operations need from the outside world.
import type { S3Client } from '@aws-sdk/client-s3';
import type { BoxClientLike } from './boxPort.ts';
import type { Logger } from './logger.ts';
import type { TransferSettings } from './settings.ts';

export interface TransferDeps {
  s3: S3Client;
  /** The Box client, built lazily (credentials are fetched on first use). */
  box: () => Promise<BoxClientLike>;
  settings: TransferSettings;
  logger: Logger;
}
