// What every Lambda handler gets, whatever it touches: a logger, its settings and, in AWS, Powertools
// telemetry. No S3 and no Box here: a function that calls neither (DescribeFailure) bundles neither, and
// functions/s3Deps.ts and functions/deps.ts add the clients for the functions that use them.
import type { DeadlineSource } from '../src/transfer/deadline.ts';
import type { TransferProgressEvent } from '../src/transfer/deps.ts';
import { createJsonLogger } from '../src/transfer/logger.ts';
import type { Logger } from '../src/transfer/logger.ts';
import { settingsFromEnv } from '../src/transfer/settings.ts';
import type { TransferSettings } from '../src/transfer/settings.ts';
import { portLogger, processTelemetry } from './observability.ts';
import type { Telemetry } from './observability.ts';

export type Env = Record<string, string | undefined>;

export interface BaseDeps {
  logger?: Logger;
  settings?: Partial<TransferSettings>;
  /** Progress inside invocations, for a local display; unset in AWS. */
  onProgress?: (event: TransferProgressEvent) => void;
  /** Powertools Logger, Metrics and Tracer around each invocation; set in AWS, unset locally. */
  telemetry?: Telemetry;
  /** Each invocation's deadline (default: its remaining time less settings.deadlineFinishMarginMs); tests pass one that a server's state ends. */
  deadline?: DeadlineSource;
}

/** What the *DepsFromEnv builders accept in place of their defaults (the CLI's display, a local S3, Lambda telemetry). */
export interface GivenDeps {
  logger?: Logger;
  telemetry?: Telemetry;
}

/** Memoizes a promise-returning factory; a failure is not cached, so the next call tries again. */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= make().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

/** With `telemetry` (Lambda) the logger is Powertools Logger; without, JSON lines on stdout unless `logger` is given. */
export function baseDepsFromEnv(env: Env = process.env, given: GivenDeps = {}): BaseDeps & { logger: Logger } {
  const { telemetry } = given;
  const logger = given.logger ?? (telemetry ? portLogger(telemetry.logger) : createJsonLogger());
  return { logger, settings: settingsFromEnv(env), ...(telemetry ? { telemetry } : {}) };
}

let processBaseDeps: BaseDeps | undefined;
/**
 * For DescribeFailure, which calls neither S3 nor Box and uses no tunable: one set per Lambda container, with
 * Powertools telemetry, and no TRANSFER_* read, so that a malformed one (Transfer.ConfigurationError in every
 * other function) still gets its failure document.
 */
export function defaultBaseDeps(): BaseDeps {
  processBaseDeps ??= baseDepsFromEnv({}, { telemetry: processTelemetry() }); // no TRANSFER_* given: the defaults
  return processBaseDeps;
}
