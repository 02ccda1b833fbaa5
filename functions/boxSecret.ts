// Box credentials from Secrets Manager through Powertools Parameters (SecretsProvider): the secret is
// cached for a time to live, so a rotation reaches warm containers without a restart, and it is read
// again at once (forceFetch) when Box refuses the credentials it gave: Box.AuthFailed at the token
// endpoint, or Box.Unauthorized that the current credentials cannot renew. One forced read is shared by
// every request that meets the refusal, and it happens once: when the secret has not changed, the
// error is raised. Nothing here logs or repeats the secret's text.
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { BoxAuth, TokenEndpoint } from '../src/box/index.ts';
import { ConfigurationError, DeadlineError } from '../src/transfer/errors.ts';

/** Reads the secret's text; `force` bypasses the cache. */
export type SecretReader = (force: boolean) => Promise<string>;

/** Seconds a read secret is kept before Secrets Manager is asked again (BOX_SECRET_MAX_AGE_SECONDS). */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/** A SecretReader over Powertools' SecretsProvider, caching for `maxAgeSeconds`. */
export function secretsManagerReader(secretId: string, maxAgeSeconds: number, provider: SecretsProvider): SecretReader {
  return async (force) => {
    let value: Awaited<ReturnType<SecretsProvider['get']>>;
    try {
      value = await provider.get(secretId, { maxAge: maxAgeSeconds, forceFetch: force });
    } catch (err) {
      // No answer within the client's request timeout (secretsClientConfig): retried, as a deadline is.
      if (isTimeout(err)) throw new DeadlineError('Box secret (BOX_SECRET_ARN): Secrets Manager did not answer in time; a retry reads it again', { cause: err });
      throw err;
    }
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    throw new ConfigurationError('Box secret (BOX_SECRET_ARN) has no value');
  };
}

/** An SDK error (Powertools wraps it as the cause) of a request that got no answer in time. */
function isTimeout(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (e.name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'ECONNREFUSED') return true;
  }
  return false;
}

function parseSecret(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // No cause: JSON.parse's message quotes the text, which is the secret.
    throw new ConfigurationError('Box secret (BOX_SECRET_ARN) is not valid JSON');
  }
}

function isRefusal(err: unknown): boolean {
  return err instanceof Error && (err.name === 'Box.AuthFailed' || err.name === 'Box.Unauthorized');
}

/** A BoxAuth that follows the secret: the auth built from its current text, rebuilt when the text changes. */
export class SecretBoxAuth implements BoxAuth {
  readonly #read: SecretReader;
  readonly #build: (secret: unknown) => BoxAuth;
  #current: { text: string; auth: BoxAuth } | undefined;
  #forced: Promise<BoxAuth | undefined> | undefined;

  constructor(read: SecretReader, build: (secret: unknown) => BoxAuth) {
    this.#read = read;
    this.#build = build;
  }

  /** Reads the secret (from the cache while it is fresh): a missing or malformed secret throws here. */
  current(): Promise<BoxAuth> {
    return this.#auth(false);
  }

  /** The auth of the secret's current text (cached by the reader for its time to live). */
  async #auth(force: boolean): Promise<BoxAuth> {
    const text = await this.#read(force);
    if (this.#current === undefined || this.#current.text !== text) this.#current = { text, auth: this.#build(parseSecret(text)) };
    return this.#current.auth;
  }

  /** Reads the secret again (shared by concurrent callers); resolves the new auth, or undefined when it did not change. */
  #reread(refused: BoxAuth): Promise<BoxAuth | undefined> {
    this.#forced ??= (async () => {
      try {
        const auth = await this.#auth(true);
        return auth === refused ? undefined : auth;
      } finally {
        this.#forced = undefined;
      }
    })();
    return this.#forced;
  }

  async getAccessToken(endpoint: TokenEndpoint): Promise<string> {
    const auth = await this.#auth(false);
    try {
      return await auth.getAccessToken(endpoint);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      const fresh = await this.#reread(auth);
      if (fresh === undefined) throw err;
      return fresh.getAccessToken(endpoint);
    }
  }

  async renewAfterUnauthorized(endpoint: TokenEndpoint, refusedToken: string): Promise<string | undefined> {
    const auth = await this.#auth(false);
    let renewed: string | undefined;
    let refusal: unknown;
    try {
      renewed = await auth.renewAfterUnauthorized(endpoint, refusedToken);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      refusal = err;
    }
    if (renewed !== undefined && renewed !== refusedToken) return renewed;
    // The current credentials cannot give another token (a developer token, or credentials rotated away).
    const fresh = await this.#reread(auth);
    if (fresh === undefined) {
      if (refusal !== undefined) throw refusal;
      return undefined;
    }
    return fresh.getAccessToken(endpoint);
  }
}
