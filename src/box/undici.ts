// The two parts of undici the Box transport uses, imported from their own modules: undici's index loads
// all of undici (fetch, WebSocket, caches, mocks...), about 90 ms of CPU more at every start of the CLI
// and every Lambda cold start. The version is pinned (package.json); test/box/undici-parts.test.ts checks
// these are undici's own Agent and request.
import AgentModule from 'undici/lib/dispatcher/agent.js';
import requestModule from 'undici/lib/api/api-request.js';
import type { Dispatcher } from 'undici';

export const Agent = AgentModule;

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'>;

/** undici's request(url, options) with options.dispatcher (which undici's index would add to every Dispatcher). */
export function request(url: string, options: RequestOptions & { dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  const u = new URL(url);
  return requestModule.call(dispatcher, { ...rest, origin: u.origin, path: `${u.pathname}${u.search}` });
}
