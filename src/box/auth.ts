// Authentication: a fixed developer token, or server-to-server tokens (Client Credentials Grant, JWT)
// fetched from {apiUrl}/oauth2/token, cached, renewed ahead of expiry and once after a 401. One renewal
// is shared by every request that needs it (a single in-flight promise), so a burst of 401s costs one
// token request.
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { AccessToken } from './types.ts';

/** What an auth needs from the client to fetch tokens: where, and how (the client's HTTP stack). */
export interface TokenEndpoint {
  /** `{apiUrl}/oauth2/token`. */
  tokenUrl: string;
  /** POSTs the form (application/x-www-form-urlencoded); rejects with Box.AuthFailed on a refusal. */
  requestToken(form: Record<string, string>): Promise<AccessToken>;
}

export interface BoxAuth {
  /** A token to send now (cached or fetched). */
  getAccessToken(endpoint: TokenEndpoint): Promise<string>;
  /**
   * Called after Box answered 401 to `refusedToken`. Resolves a different token to retry with, or
   * undefined when this auth cannot renew (a developer token).
   */
  renewAfterUnauthorized(endpoint: TokenEndpoint, refusedToken: string): Promise<string | undefined>;
}

/** A developer token (60 minutes, cannot be renewed). */
export class DeveloperTokenAuth implements BoxAuth {
  readonly #token: string;

  constructor(token: string) {
    if (!token) throw new TypeError('DeveloperTokenAuth needs a token');
    this.#token = token;
  }

  getAccessToken(): Promise<string> {
    return Promise.resolve(this.#token);
  }

  renewAfterUnauthorized(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
}

export interface TokenCacheOptions {
  /** Renew this long before `expires_in` runs out (default 60 s; at most half the token's lifetime). */
  renewMarginSeconds?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Caches one token and shares each fetch between all concurrent callers. */
abstract class CachingTokenAuth implements BoxAuth {
  #token: string | undefined;
  #renewAt = 0;
  #inFlight: Promise<string> | undefined;
  readonly #marginMs: number;
  readonly #now: () => number;

  protected constructor(options: TokenCacheOptions = {}) {
    this.#marginMs = (options.renewMarginSeconds ?? 60) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The token endpoint form for one fresh token. */
  protected abstract tokenForm(endpoint: TokenEndpoint): Record<string, string>;

  getAccessToken(endpoint: TokenEndpoint): Promise<string> {
    if (this.#token !== undefined && this.#now() < this.#renewAt) return Promise.resolve(this.#token);
    return this.#fetchShared(endpoint);
  }

  renewAfterUnauthorized(endpoint: TokenEndpoint, refusedToken: string): Promise<string | undefined> {
    // Someone else already renewed since this request was sent: use theirs.
    if (this.#token !== undefined && this.#token !== refusedToken) return Promise.resolve(this.#token);
    this.#token = undefined;
    return this.#fetchShared(endpoint);
  }

  #fetchShared(endpoint: TokenEndpoint): Promise<string> {
    this.#inFlight ??= (async () => {
      try {
        const issuedAt = this.#now();
        const answer = await endpoint.requestToken(this.tokenForm(endpoint));
        const lifetimeMs = Math.max(0, Number(answer.expires_in) || 0) * 1000;
        // A short-lived token (tests) is renewed at half its life rather than never being cached.
        this.#renewAt = issuedAt + lifetimeMs - Math.min(this.#marginMs, lifetimeMs / 2);
        this.#token = answer.access_token;
        return answer.access_token;
      } finally {
        this.#inFlight = undefined;
      }
    })();
    return this.#inFlight;
  }
}

export type CcgSubject = { enterpriseId: string; userId?: undefined } | { userId: string; enterpriseId?: undefined };

export type CcgAuthConfig = { clientId: string; clientSecret: string } & CcgSubject & TokenCacheOptions;

/** Client Credentials Grant: the app's service account (enterpriseId) or a user (userId). */
export class CcgAuth extends CachingTokenAuth {
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #subjectType: 'enterprise' | 'user';
  readonly #subjectId: string;

  constructor(config: CcgAuthConfig) {
    super(config);
    if (!config.clientId || !config.clientSecret) throw new TypeError('CcgAuth needs clientId and clientSecret');
    const subjectId = config.enterpriseId ?? config.userId;
    if (!subjectId) throw new TypeError('CcgAuth needs enterpriseId or userId');
    this.#clientId = config.clientId;
    this.#clientSecret = config.clientSecret;
    this.#subjectType = config.enterpriseId !== undefined ? 'enterprise' : 'user';
    this.#subjectId = subjectId;
  }

  protected tokenForm(): Record<string, string> {
    return {
      grant_type: 'client_credentials',
      client_id: this.#clientId,
      client_secret: this.#clientSecret,
      box_subject_type: this.#subjectType,
      box_subject_id: this.#subjectId,
    };
  }
}

export type JwtAuthConfig = {
  clientId: string;
  clientSecret: string;
  /** Id of the public key registered with the app (JWT header `kid`). */
  publicKeyId: string;
  /** PEM private key (possibly encrypted). */
  privateKey: string;
  passphrase?: string;
  /** RS256 (default), RS384 or RS512. */
  algorithm?: 'RS256' | 'RS384' | 'RS512';
} & CcgSubject & TokenCacheOptions;

/** The JSON file Box's developer console generates for a JWT app. */
export interface BoxAppSettings {
  boxAppSettings: {
    clientID: string;
    clientSecret: string;
    appAuth: { publicKeyID: string; privateKey: string; passphrase?: string };
  };
  enterpriseID?: string | number | null;
}

const JWT_HASH = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' } as const;

function base64Url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Parses app-settings text. JSON.parse's message quotes the text around the error, and this text holds
 * the private key: so a fixed message, and no cause.
 */
function parseAppSettings(text: string): BoxAppSettings {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TypeError('app settings are not valid JSON (the parser\'s message is left out: it would quote the private key)');
  }
  const app = (value as { boxAppSettings?: { appAuth?: unknown } } | null)?.boxAppSettings;
  if (typeof app !== 'object' || app === null || typeof app.appAuth !== 'object' || app.appAuth === null) {
    throw new TypeError('app settings have no boxAppSettings.appAuth object');
  }
  return value as BoxAppSettings;
}

/** JWT grant: an RS256-signed assertion exchanged for a token (developer.box.com "JWT without SDK"). */
export class JwtAuth extends CachingTokenAuth {
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #publicKeyId: string;
  readonly #key: KeyObject;
  readonly #algorithm: 'RS256' | 'RS384' | 'RS512';
  readonly #subjectType: 'enterprise' | 'user';
  readonly #subjectId: string;
  readonly #clock: () => number;

  constructor(config: JwtAuthConfig) {
    super(config);
    const subjectId = config.enterpriseId ?? config.userId;
    if (!config.clientId || !config.clientSecret || !config.publicKeyId || !config.privateKey || !subjectId) {
      throw new TypeError('JwtAuth needs clientId, clientSecret, publicKeyId, privateKey and enterpriseId or userId');
    }
    this.#clientId = config.clientId;
    this.#clientSecret = config.clientSecret;
    this.#publicKeyId = config.publicKeyId;
    // Parsed once up front so that a wrong passphrase fails here, not on the first request.
    try {
      this.#key = createPrivateKey(config.passphrase === undefined ? config.privateKey : { key: config.privateKey, passphrase: config.passphrase });
    } catch (cause) {
      throw new TypeError('JwtAuth: the private key could not be read (not a PEM key, or a wrong passphrase)', { cause });
    }
    this.#algorithm = config.algorithm ?? 'RS256';
    this.#subjectType = config.enterpriseId !== undefined ? 'enterprise' : 'user';
    this.#subjectId = subjectId;
    this.#clock = config.now ?? Date.now;
  }

  /** From the developer console's app-settings JSON (text or parsed); `userId` switches to a user subject. */
  static fromAppSettings(settings: string | BoxAppSettings, options: { userId?: string } & TokenCacheOptions = {}): JwtAuth {
    const s = typeof settings === 'string' ? parseAppSettings(settings) : settings;
    const app = s.boxAppSettings;
    const base = {
      clientId: app.clientID,
      clientSecret: app.clientSecret,
      publicKeyId: app.appAuth.publicKeyID,
      privateKey: app.appAuth.privateKey,
      ...(app.appAuth.passphrase ? { passphrase: app.appAuth.passphrase } : {}),
      ...(options.renewMarginSeconds !== undefined ? { renewMarginSeconds: options.renewMarginSeconds } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
    };
    if (options.userId !== undefined) return new JwtAuth({ ...base, userId: options.userId });
    if (s.enterpriseID === undefined || s.enterpriseID === null || s.enterpriseID === '') {
      throw new TypeError('app settings have no enterpriseID; pass options.userId');
    }
    return new JwtAuth({ ...base, enterpriseId: String(s.enterpriseID) });
  }

  /** The signed assertion (exposed for tests and debugging; it holds no secret). */
  createAssertion(tokenUrl: string): string {
    const nowSeconds = Math.floor(this.#clock() / 1000);
    const header = { alg: this.#algorithm, typ: 'JWT', kid: this.#publicKeyId };
    const claims = {
      iss: this.#clientId,
      sub: this.#subjectId,
      box_sub_type: this.#subjectType,
      aud: tokenUrl,
      jti: randomBytes(32).toString('hex'), // 64 characters, within Box's 16..128
      iat: nowSeconds,
      exp: nowSeconds + 30, // Box allows at most 60 s
    };
    const signingInput = `${base64Url(JSON.stringify(header))}.${base64Url(JSON.stringify(claims))}`;
    const signature = sign(JWT_HASH[this.#algorithm], Buffer.from(signingInput), this.#key);
    return `${signingInput}.${base64Url(signature)}`;
  }

  protected tokenForm(endpoint: TokenEndpoint): Record<string, string> {
    return {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: this.createAssertion(endpoint.tokenUrl),
      client_id: this.#clientId,
      client_secret: this.#clientSecret,
    };
  }
}
