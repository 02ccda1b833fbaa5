// Dependencies of the Lambda handlers, and how AWS Lambda builds them from its environment.
// Box credentials come from Secrets Manager (BOX_SECRET_ARN, through Powertools Parameters: cached for
// BOX_SECRET_MAX_AGE_SECONDS, read again at once when Box refuses them; functions/boxSecret.ts) or BOX_*
// variables; they are never logged.
import { S3Client } from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { BOX_RETRY_MESSAGE, BoxClient, CcgAuth, DeveloperTokenAuth, JwtAuth } from '../src/box/index.ts';
import type { BoxAppSettings, BoxAuth, BoxLogger } from '../src/box/index.ts';
import type { BoxClientLike } from '../src/transfer/boxPort.ts';
import type { DeadlineSource } from '../src/transfer/deadline.ts';
import type { TransferProgressEvent } from '../src/transfer/deps.ts';
import { ConfigurationError } from '../src/transfer/errors.ts';
import { createJsonLogger } from '../src/transfer/logger.ts';
import type { Logger } from '../src/transfer/logger.ts';
import { settingsFromEnv } from '../src/transfer/settings.ts';
import { outsideRequestBudget } from '../src/box/budget.ts';
import { withinRequestBudget } from '../src/transfer/request-budget.ts';
import { DEFAULT_SECRET_MAX_AGE_SECONDS, SecretBoxAuth, secretsManagerReader } from './boxSecret.ts';
import type { TransferSettings } from '../src/transfer/settings.ts';
import { METRIC, portLogger, processTelemetry, recordMeasurements } from './observability.ts';
import type { Telemetry } from './observability.ts';

export interface HandlerDeps {
  s3: S3Client;
  /** Built on first use and cached; a BoxClient from src/box satisfies BoxClientLike. */
  box: () => Promise<BoxClientLike>;
  logger?: Logger;
  settings?: Partial<TransferSettings>;
  /** Progress inside invocations, for a local display; unset in AWS. */
  onProgress?: (event: TransferProgressEvent) => void;
  /** Powertools Logger, Metrics and Tracer around each invocation; set in AWS, unset locally. */
  telemetry?: Telemetry;
  /** Each invocation's deadline (default: its remaining time less settings.deadlineFinishMarginMs); tests pass one that a server's state ends. */
  deadline?: DeadlineSource;
}

type Env = Record<string, string | undefined>;

/** Builds a BoxAuth from the secret's JSON (a developer token, client credentials (CCG), or a JWT app's settings file). Messages name the missing fields, never their values. */
export function authFromSecret(secret: unknown): BoxAuth {
  if (typeof secret !== 'object' || secret === null) throw new ConfigurationError('Box secret must be a JSON object');
  const s = secret as Record<string, unknown>;
  if (typeof s.developerToken === 'string' && s.developerToken !== '') return new DeveloperTokenAuth(s.developerToken);
  if (typeof s.boxAppSettings === 'object' && s.boxAppSettings !== null) {
    try {
      return JwtAuth.fromAppSettings(s as unknown as BoxAppSettings, typeof s.userId === 'string' ? { userId: s.userId } : {});
    } catch (err) {
      // JwtAuth's own messages name fields only; a key parse failure says nothing about the key.
      throw new ConfigurationError(`Box JWT app settings are unusable: ${err instanceof Error ? err.message : 'invalid'}`);
    }
  }
  if (typeof s.clientId === 'string' && typeof s.clientSecret === 'string') {
    const subject = s.enterpriseId ?? s.userId;
    if (typeof subject !== 'string' && typeof subject !== 'number') {
      throw new ConfigurationError('Box client credentials need enterpriseId or userId');
    }
    return s.enterpriseId !== undefined
      ? new CcgAuth({ clientId: s.clientId, clientSecret: s.clientSecret, enterpriseId: String(s.enterpriseId) })
      : new CcgAuth({ clientId: s.clientId, clientSecret: s.clientSecret, userId: String(s.userId) });
  }
  throw new ConfigurationError(
    'Box secret must hold {developerToken}, {clientId, clientSecret, enterpriseId|userId}, or a JWT app settings JSON {boxAppSettings, enterpriseID}',
  );
}

/** Box credentials from BOX_* environment variables (no Secrets Manager), or undefined if none are set. */
function authFromEnv(env: Env): BoxAuth | undefined {
  if (env.BOX_DEVELOPER_TOKEN) return new DeveloperTokenAuth(env.BOX_DEVELOPER_TOKEN);
  if (env.BOX_CLIENT_ID || env.BOX_CLIENT_SECRET) {
    return authFromSecret({
      clientId: env.BOX_CLIENT_ID,
      clientSecret: env.BOX_CLIENT_SECRET,
      ...(env.BOX_ENTERPRISE_ID ? { enterpriseId: env.BOX_ENTERPRISE_ID } : {}),
      ...(env.BOX_USER_ID ? { userId: env.BOX_USER_ID } : {}),
    });
  }
  return undefined;
}

/** Milliseconds one GetSecretValue attempt may take (BOX_SECRET_REQUEST_TIMEOUT_MS): it normally takes tens. */
const DEFAULT_SECRET_REQUEST_TIMEOUT_MS = 5000;

/**
 * The Secrets Manager client for the Box secret: every attempt bounded (connection and answer), so a read
 * that hangs ends instead of holding the invocation until its Lambda timeout; 3 attempts at most.
 * AWS_ENDPOINT_URL_SECRETS_MANAGER points it elsewhere (a local stand-in), as the SDK's own setting does.
 */
function secretsClientConfig(env: Env): SecretsManagerClientConfig {
  const timeout = Number(env.BOX_SECRET_REQUEST_TIMEOUT_MS);
  const requestTimeout = Number.isSafeInteger(timeout) && timeout > 0 ? timeout : DEFAULT_SECRET_REQUEST_TIMEOUT_MS;
  return {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.AWS_ENDPOINT_URL_SECRETS_MANAGER ? { endpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER } : {}),
    maxAttempts: 3,
    // throwOnRequestTimeout: without it the SDK only logs a warning when the timeout passes, and waits on.
    requestHandler: { connectionTimeout: Math.min(requestTimeout, 3000), requestTimeout, throwOnRequestTimeout: true },
  };
}

/**
 * The Box credentials: from the secret BOX_SECRET_ARN names (read now, so a missing or malformed secret
 * fails here; then followed through rotations), else from BOX_* variables. Powertools Parameters and the
 * Secrets Manager client are imported only here, when a secret is named: the CLI and a container with
 * BOX_* variables never load them.
 */
export async function loadBoxAuth(env: Env, secrets?: SecretsManagerClient): Promise<BoxAuth> {
  const arn = env.BOX_SECRET_ARN;
  if (arn) {
    const maxAge = Number(env.BOX_SECRET_MAX_AGE_SECONDS);
    const { SecretsProvider } = await import('@aws-lambda-powertools/parameters/secrets');
    const { SecretsManagerClient: Client } = await import('@aws-sdk/client-secrets-manager');
    const provider = new SecretsProvider({ awsSdkV3Client: secrets ?? new Client(secretsClientConfig(env)) });
    const read = secretsManagerReader(arn, Number.isSafeInteger(maxAge) && maxAge >= 0 ? maxAge : DEFAULT_SECRET_MAX_AGE_SECONDS, provider);
    const auth = new SecretBoxAuth(read, authFromSecret);
    await auth.current();
    return auth;
  }
  const auth = authFromEnv(env);
  if (auth === undefined) {
    throw new ConfigurationError(
      'No Box credentials: set BOX_SECRET_ARN, BOX_DEVELOPER_TOKEN, or BOX_CLIENT_ID + BOX_CLIENT_SECRET + BOX_ENTERPRISE_ID|BOX_USER_ID',
    );
  }
  return auth;
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

function boxLogger(logger: Logger, telemetry: Telemetry | undefined): BoxLogger {
  return {
    debug: (m, d) => logger.debug(m, d),
    warn: (m, d) => {
      if (m === BOX_RETRY_MESSAGE && telemetry) recordMeasurements(telemetry.metrics, [{ name: METRIC.boxRetries, unit: 'Count', value: 1 }]);
      logger.warn(m, d);
    },
  };
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

/**
 * `logger` and `s3` replace the defaults (the CLI's display, a local S3); the Box client logs through
 * `logger` too. With `telemetry` (Lambda), the logger is Powertools Logger and Box retries are counted.
 */
export function depsFromEnv(env: Env = process.env, given: { logger?: Logger; s3?: S3Client; telemetry?: Telemetry } = {}): HandlerDeps {
  const { telemetry } = given;
  const logger = given.logger ?? (telemetry ? portLogger(telemetry.logger) : createJsonLogger());
  const shared = once(async (): Promise<BoxClientLike> => {
    const auth = await loadBoxAuth(env);
    return new BoxClient({
      auth,
      // A Retry-After longer than this is not slept inside the Lambda (whose timeout is short):
      // the error goes to the state machine, whose Retry waits instead. Whatever these allow, each
      // invocation's requests and retry waits also stay inside its own remaining time (functions/task.ts,
      // src/box/budget.ts), so the worst case of 5 attempts x 30 s never outlasts a 30 s AbortSession.
      retry: { maxRetryAfterMs: 30_000 },
      ...(env.BOX_API_URL ? { apiUrl: env.BOX_API_URL } : {}),
      ...(env.BOX_UPLOAD_URL ? { uploadUrl: env.BOX_UPLOAD_URL } : {}),
      logger: boxLogger(logger.child({ component: 'box' }), telemetry),
    });
  });
  // The first build reads the Box secret (Secrets Manager) for every invocation of the container: it runs
  // outside any one invocation's request budget, and each invocation waits for it only within its own
  // (Transfer.Deadline, retried), so a read that hangs never holds a Lambda until its timeout.
  let built: BoxClientLike | undefined;
  const box = async (): Promise<BoxClientLike> => {
    if (built !== undefined) return built;
    built = await withinRequestBudget('Box credentials (Secrets Manager GetSecretValue of BOX_SECRET_ARN)', undefined, () => outsideRequestBudget(shared));
    return built;
  };
  const s3 = given.s3 ?? new S3Client(s3ConfigFromEnv(env));
  return { s3: telemetry ? telemetry.tracer.captureAWSv3Client(s3) : s3, box, logger, settings: settingsFromEnv(env), ...(telemetry ? { telemetry } : {}) };
}

let processDeps: HandlerDeps | undefined;
/** One set of dependencies per Lambda container, built on the first invocation, with Powertools telemetry. */
export function defaultDeps(): HandlerDeps {
  processDeps ??= depsFromEnv(process.env, { telemetry: processTelemetry() });
  return processDeps;
}
