// What handlers get: the request, who made it, and the emulator's state and settings.
import type { IncomingMessage } from 'node:http';
import type { Principal, TokenStore } from './auth.ts';
import type { LinkShaper } from './shaping.ts';
import type { Store } from './store.ts';
import type { Commit202Body, CommitProcessing, CommittedSessionAnswer, MarkerPaging, OverlapContext, PreflightAnswer } from './types.ts';

export interface EmulatorConfig {
  partSizeFor: (fileSize: number) => number;
  minChunkedFileSize: number;
  maxFileSize: number;
  commitProcessing: CommitProcessing;
  commit202Body: Commit202Body;
  sessionTtlMs: number;
  partDigestMismatchStatus: number;
  overlapContext: OverlapContext;
  overlapStatus: 416 | 409;
  committedSession: CommittedSessionAnswer;
  preflight: PreflightAnswer;
  markerPaging: MarkerPaging;
}

export interface EmulatorEnv {
  store: Store;
  tokens: TokenStore;
  config: EmulatorConfig;
  shaper: LinkShaper;
  /** Aborted by close(): every sleep and wait ends. */
  signal: AbortSignal;
  /** http://host:port, for absolute session endpoints. */
  baseUrl: string;
}

export interface RequestContext {
  req: IncomingMessage;
  url: URL;
  /** Path parameters of the route, in order. */
  params: string[];
  /** Undefined only for /oauth2/token. */
  auth: { token: string; principal: Principal } | undefined;
  env: EmulatorEnv;
  /** The `corruptBody` fault: the body arrives with one byte damaged. */
  corruptBody?: boolean;
}

export function principalOf(ctx: RequestContext): Principal {
  if (ctx.auth === undefined) throw new Error('route needs authentication');
  return ctx.auth.principal;
}

export function param(ctx: RequestContext, i: number): string {
  const v = ctx.params[i];
  if (v === undefined) throw new Error(`route has no parameter ${i}`);
  return decodeURIComponent(v);
}
