// Tokens: developer tokens given in the options, and access tokens issued by POST /oauth2/token
// (client credentials, or a JWT assertion: its signature checked against the app's public keys when the
// emulator is given them).
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BoxApiError, OAuthError } from './errors.ts';

/** Who a token acts as: sessions belong to the user that created them. */
export interface Principal {
  /** Stable identity key: `dev:<n>`, `enterprise:<id>` or `user:<id>`. */
  key: string;
  userId: string;
  name: string;
  login: string;
}

interface TokenRecord {
  principal: Principal;
  expiresAt: number; // ms epoch; Infinity for developer tokens
  expired: boolean;
}

const REALM = 'Bearer realm="Service"';

export class TokenStore {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly principals = new Map<string, Principal>();
  private nextUserId = 20000001;
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly ttlSeconds: number;
  /** Public keys by `kid`; undefined: JWT signatures are not checked. */
  private readonly jwtKeys: Map<string, KeyObject> | undefined;

  constructor(options: { devTokens: string[]; clientId: string; clientSecret: string; ttlSeconds: number; jwtPublicKeys?: Record<string, string> }) {
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    this.ttlSeconds = options.ttlSeconds;
    this.jwtKeys =
      options.jwtPublicKeys === undefined ? undefined : new Map(Object.entries(options.jwtPublicKeys).map(([kid, pem]) => [kid, createPublicKey(pem)]));
    options.devTokens.forEach((token, i) => {
      this.tokens.set(token, {
        principal: this.principal(`dev:${i}`, i === 0 ? 'Emulator Developer' : `Emulator Developer ${i + 1}`),
        expiresAt: Infinity,
        expired: false,
      });
    });
  }

  private principal(key: string, name: string): Principal {
    let p = this.principals.get(key);
    if (p === undefined) {
      const userId = String(this.nextUserId++);
      p = { key, userId, name, login: `${key.replace(/[^a-z0-9]+/gi, '-')}@emulator.box.test` };
      this.principals.set(key, p);
    }
    return p;
  }

  /** Who items seeded through the handle belong to: the first developer token's user. */
  seedOwner(): Principal {
    return this.principal('dev:0', 'Emulator Developer');
  }

  /** The principal of the request's bearer token; 401 (with WWW-Authenticate) otherwise. */
  authenticate(req: IncomingMessage): { token: string; principal: Principal } {
    const auth = req.headers.authorization;
    const m = auth === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m === null || m[1] === undefined) {
      throw new BoxApiError(401, 'unauthorized', 'Unauthorized', { headers: { 'www-authenticate': REALM } });
    }
    const token = m[1];
    const rec = this.tokens.get(token);
    if (rec === undefined) {
      throw new BoxApiError(401, 'unauthorized', 'Unauthorized', {
        headers: {
          'www-authenticate': `${REALM}, error="invalid_token", error_description="The access token provided is invalid."`,
        },
      });
    }
    if (rec.expired || Date.now() >= rec.expiresAt) throw expiredTokenError();
    return { token, principal: rec.principal };
  }

  expire(token: string): void {
    const rec = this.tokens.get(token);
    if (rec !== undefined) rec.expired = true;
  }

  expireAll(): void {
    for (const rec of this.tokens.values()) rec.expired = true;
  }

  /** POST /oauth2/token with a parsed form. */
  issue(form: URLSearchParams): Record<string, unknown> {
    const grantType = form.get('grant_type');
    let subjectType: string | null;
    let subjectId: string | null;
    if (grantType === 'client_credentials') {
      if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
        throw new OAuthError(400, 'invalid_grant', 'Grant credentials are invalid');
      }
      subjectType = form.get('box_subject_type');
      subjectId = form.get('box_subject_id');
    } else if (grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
        throw new OAuthError(400, 'invalid_grant', 'Grant credentials are invalid');
      }
      const assertion = form.get('assertion');
      if (this.jwtKeys !== undefined) checkJwtSignature(assertion, this.jwtKeys);
      const claims = decodeJwtClaims(assertion);
      if (claims.iss !== this.clientId) throw new OAuthError(400, 'invalid_grant', 'Please check the \'iss\' claim.');
      subjectType = typeof claims.box_sub_type === 'string' ? claims.box_sub_type : null;
      subjectId = typeof claims.sub === 'string' ? claims.sub : null;
    } else {
      throw new OAuthError(400, 'unsupported_grant_type', 'Grant type is unsupported');
    }
    if (subjectType !== 'enterprise' && subjectType !== 'user') {
      throw new OAuthError(400, 'invalid_request', 'Invalid value for box_subject_type: expected enterprise or user');
    }
    if (subjectId === null || subjectId === '') {
      throw new OAuthError(400, 'invalid_request', 'Missing box_subject_id');
    }
    const principal =
      subjectType === 'enterprise'
        ? this.principal(`enterprise:${subjectId}`, `Service Account ${subjectId}`)
        : this.principal(`user:${subjectId}`, `User ${subjectId}`);
    const accessToken = randomBytes(24).toString('base64url');
    this.tokens.set(accessToken, { principal, expiresAt: Date.now() + this.ttlSeconds * 1000, expired: false });
    return { access_token: accessToken, expires_in: this.ttlSeconds, token_type: 'bearer', restricted_to: [] };
  }
}

export function expiredTokenError(): BoxApiError {
  return new BoxApiError(401, 'unauthorized', 'Unauthorized', {
    headers: {
      'www-authenticate': `${REALM}, error="expired_token", error_description="The access token provided has expired."`,
    },
  });
}

const JWT_HASHES: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };

/** As Box does: the header's `kid` names a registered key, and the RSA signature verifies with it. */
function checkJwtSignature(assertion: string | null, keys: Map<string, KeyObject>): void {
  const [header, payload, signature] = assertion?.split('.') ?? [];
  let parsed: { alg?: unknown; kid?: unknown } = {};
  try {
    parsed = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    // an unreadable header fails below
  }
  const key = typeof parsed.kid === 'string' ? keys.get(parsed.kid) : undefined;
  if (key === undefined) throw new OAuthError(400, 'invalid_grant', 'Please check the \'kid\' header: no public key of the app has that id.');
  const hash = typeof parsed.alg === 'string' ? JWT_HASHES[parsed.alg] : undefined;
  if (hash === undefined || payload === undefined || signature === undefined) throw new OAuthError(400, 'invalid_grant', 'Invalid JWT assertion');
  if (!verify(hash, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) {
    throw new OAuthError(400, 'invalid_grant', 'Signature verification error. The public key identified by "kid" must correspond to the private key used for signing.');
  }
}

function decodeJwtClaims(assertion: string | null): Record<string, unknown> {
  const payload = assertion?.split('.')[1];
  if (payload === undefined) throw new OAuthError(400, 'invalid_grant', 'Invalid JWT assertion');
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (claims !== null && typeof claims === 'object') return claims as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new OAuthError(400, 'invalid_grant', 'Invalid JWT assertion');
}
