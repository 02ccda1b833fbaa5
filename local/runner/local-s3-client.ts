// A client for s3rver or any S3-compatible endpoint, without loading s3rver itself.
import { S3Client } from '@aws-sdk/client-s3';
import { s3ConfigFromEnv } from '../../functions/deps.ts';
import { withLeanReads } from '../../src/transfer/leanGet.ts';

export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * A client for s3rver (or any S3-compatible endpoint that wants path-style addressing), its ranged reads lean as
 * the deployed functions' are (src/transfer/leanGet.ts); `leanReads: false` for the SDK's path alone.
 */
export function localS3Client(endpoint: string, region = 'us-east-1', options: { leanReads?: boolean } = {}): S3Client {
  // The Lambdas' own settings for an S3-compatible endpoint (path-style, checksums only where S3
  // requires them: s3rver would store aws-chunked framing as object bytes), plus s3rver's credentials.
  const client = new S3Client({
    ...s3ConfigFromEnv({ AWS_REGION: region, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true' }),
    credentials: { ...LOCAL_S3_CREDENTIALS },
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return options.leanReads === false ? client : withLeanReads(client);
}

