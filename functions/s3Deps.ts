// The S3 client of the Lambda handlers, from the environment. No Box here: a function that reads S3 but
// never calls Box (HashObject, Summarize) bundles no Box client, no undici and no Secrets Manager client.
import { S3Client } from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { baseDepsFromEnv } from './baseDeps.ts';
import type { BaseDeps, Env, GivenDeps } from './baseDeps.ts';
import { METRIC, processTelemetry, recordMeasurements } from './observability.ts';
import type { Telemetry } from './observability.ts';
import { leanFallbackChannel, withLeanReads } from '../src/transfer/leanGet.ts';
import type { LeanFallback } from '../src/transfer/leanGet.ts';
import type { Logger } from '../src/transfer/logger.ts';

export interface S3Deps extends BaseDeps {
  s3: S3Client;
}

export function s3ConfigFromEnv(env: Env): S3ClientConfig {
  return {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    ...(env.S3_FORCE_PATH_STYLE === 'true' || env.S3_FORCE_PATH_STYLE === '1' ? { forcePathStyle: true } : {}),
    // Checksums only where S3 requires them: local S3 servers mangle aws-chunked bodies otherwise.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  };
}

/** `s3` replaces the client built from S3_ENDPOINT/AWS_REGION (a local S3); with `telemetry` its calls are traced. */
export function s3DepsFromEnv(env: Env = process.env, given: GivenDeps & { s3?: S3Client } = {}): S3Deps & { logger: Logger } {
  const base = baseDepsFromEnv(env, given);
  const s3 = given.s3 ?? withLeanReads(new S3Client(s3ConfigFromEnv(env)));
  if (given.telemetry) watchLeanFallbacks(given.telemetry, base.logger);
  return { ...base, s3: given.telemetry ? given.telemetry.tracer.captureAWSv3Client(s3) : s3 };
}

/** Where lean fallbacks are told: the telemetry and logger of the latest deps built with telemetry. */
let fallbackSink: { telemetry: Telemetry; logger: Logger } | undefined;
/**
 * Counts (S3LeanFallbacks) and logs each ranged read the lean reader left to the SDK: one now and then is S3's
 * (a 503, a reset); every read, always, would mean each GET is sent twice. Subscribed once per process (the
 * channel is the process's); a Lambda container builds its deps with one telemetry.
 */
function watchLeanFallbacks(telemetry: Telemetry, logger: Logger): void {
  if (fallbackSink === undefined) leanFallbackChannel.subscribe(onLeanFallback);
  fallbackSink = { telemetry, logger };
}

function onLeanFallback(message: unknown): void {
  if (fallbackSink === undefined) return;
  const f = message as LeanFallback;
  recordMeasurements(fallbackSink.telemetry.metrics, [{ name: METRIC.s3LeanFallbacks, unit: 'Count', value: 1 }]);
  fallbackSink.logger.info('S3 range read left to the SDK', { reason: f.reason, ...(f.status !== undefined ? { status: f.status } : {}), handed: f.handed, range: f.range });
}

let processS3Deps: S3Deps | undefined;
/** For a function that reads S3 and never calls Box: one set per Lambda container, with Powertools telemetry. */
export function defaultS3Deps(): S3Deps {
  processS3Deps ??= s3DepsFromEnv(process.env, { telemetry: processTelemetry() });
  return processS3Deps;
}
