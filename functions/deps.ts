// Dependencies of the Lambda handlers that call Box, and how AWS Lambda builds them from its environment.
// Box credentials come from Secrets Manager (BOX_SECRET_ARN, through Powertools Parameters: cached for
// BOX_SECRET_MAX_AGE_SECONDS, read again at once when Box refuses them; functions/boxSecret.ts) or BOX_*
// variables; they are never logged. Each handler takes only the clients it uses (functions/baseDeps.ts: none,
// functions/s3Deps.ts: S3, defaultBoxDeps: Box, defaultDeps: both), so its bundle carries only those.
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { BOX_RETRY_MESSAGE, BoxClient, CcgAuth, DeveloperTokenAuth, JwtAuth } from '../src/box/index.ts';
import type { BoxAppSettings, BoxAuth, BoxLogger } from '../src/box/index.ts';
import type { BoxClientLike } from '../src/transfer/boxPort.ts';
import { ConfigurationError } from '../src/transfer/errors.ts';
import type { Logger } from '../src/transfer/logger.ts';
import { outsideRequestBudget } from '../src/box/budget.ts';
import { withinRequestBudget } from '../src/transfer/request-budget.ts';
import { baseDepsFromEnv, once } from './baseDeps.ts';
import type { BaseDeps, Env, GivenDeps } from './baseDeps.ts';
import { DEFAULT_SECRET_MAX_AGE_SECONDS, SecretBoxAuth, secretsManagerReader } from './boxSecret.ts';
import { METRIC, processTelemetry, recordMeasurements } from './observability.ts';
import type { Telemetry } from './observability.ts';
import { s3DepsFromEnv } from './s3Deps.ts';

export { once } from './baseDeps.ts';
export { s3ConfigFromEnv } from './s3Deps.ts';

export interface BoxDeps extends BaseDeps {
  /** Built on first use and cached; a BoxClient from src/box satisfies BoxClientLike. */
  box: () => Promise<BoxClientLike>;
}

/** Everything a handler may use: S3 and Box (the local runner gives this to every handler). */
export interface HandlerDeps extends BoxDeps {
  s3: S3Client;
}

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

function boxLogger(logger: Logger, telemetry: Telemetry | undefined): BoxLogger {
  return {
    debug: (m, d) => logger.debug(m, d),
    warn: (m, d) => {
      if (m === BOX_RETRY_MESSAGE && telemetry) recordMeasurements(telemetry.metrics, [{ name: METRIC.boxRetries, unit: 'Count', value: 1 }]);
      logger.warn(m, d);
    },
  };
}

/** The Box client, built on first use (credentials read then); it logs through `logger`, and with `telemetry` counts retries. */
function boxFromEnv(env: Env, logger: Logger, telemetry: Telemetry | undefined): () => Promise<BoxClientLike> {
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
  return async (): Promise<BoxClientLike> => {
    if (built !== undefined) return built;
    built = await withinRequestBudget('Box credentials (Secrets Manager GetSecretValue of BOX_SECRET_ARN)', undefined, () => outsideRequestBudget(shared));
    return built;
  };
}

/** For a function that calls Box and never reads S3: no S3 client is built (nor bundled). */
function boxDepsFromEnv(env: Env = process.env, given: GivenDeps = {}): BoxDeps & { logger: Logger } {
  const base = baseDepsFromEnv(env, given);
  return { ...base, box: boxFromEnv(env, base.logger, given.telemetry) };
}

/**
 * `logger` and `s3` replace the defaults (the CLI's display, a local S3); the Box client logs through
 * `logger` too. With `telemetry` (Lambda), the logger is Powertools Logger and Box retries are counted.
 */
export function depsFromEnv(env: Env = process.env, given: GivenDeps & { s3?: S3Client } = {}): HandlerDeps {
  const withS3 = s3DepsFromEnv(env, given);
  return { ...withS3, box: boxFromEnv(env, withS3.logger, given.telemetry) };
}

let processDeps: HandlerDeps | undefined;
/** One set of dependencies per Lambda container, built on the first invocation, with Powertools telemetry. */
export function defaultDeps(): HandlerDeps {
  processDeps ??= depsFromEnv(process.env, { telemetry: processTelemetry() });
  return processDeps;
}

let processBoxDeps: BoxDeps | undefined;
/** For a function that calls Box and never reads S3: one set per Lambda container, with Powertools telemetry. */
export function defaultBoxDeps(): BoxDeps {
  processBoxDeps ??= boxDepsFromEnv(process.env, { telemetry: processTelemetry() });
  return processBoxDeps;
}
