// A local endpoint given on the command line that nothing listens on (the local S3 or the Box emulator not
// started, a wrong port) would fail every request of the run as a network error, which the state machine
// retries for minutes before it says anything final. One TCP connection before the run tells at once.
import net from 'node:net';
import { ConfigurationError } from '../../src/transfer/errors.ts';
import { httpUrl } from './options.ts';

/** Answers that are final for an address: nothing listens there, or the host name does not exist. */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND']);

/** The Lambdas' environment variables that hold an endpoint, and the option that sets each. */
const ENDPOINT_VARIABLES = [
  ['S3_ENDPOINT', '--s3-endpoint'],
  ['BOX_API_URL', '--box-api-url'],
  ['BOX_UPLOAD_URL', '--box-upload-url'],
] as const;

type EndpointVariable = (typeof ENDPOINT_VARIABLES)[number][0];

interface Endpoint {
  url: string;
  option: string;
  parsed: URL;
}

/**
 * The endpoints set in `env` (as lambdaEnvFor builds it), each parsed once with the options' own test. A value
 * the option's parser never saw (a default from the environment, such as BOX_API_URL) that is not an http(s)
 * URL is Transfer.ConfigurationError naming the option and the variable, every such one at once.
 */
export function endpointsOf(env: Record<string, string | undefined>, names: readonly EndpointVariable[] = ['S3_ENDPOINT', 'BOX_API_URL', 'BOX_UPLOAD_URL']): Endpoint[] {
  const endpoints: Endpoint[] = [];
  const malformed: string[] = [];
  for (const [name, option] of ENDPOINT_VARIABLES) {
    const url = env[name];
    if (!url || !names.includes(name)) continue;
    try {
      endpoints.push({ url, option, parsed: httpUrl(url) });
    } catch {
      malformed.push(`${option} (or ${name}) ${JSON.stringify(url)}`);
    }
  }
  if (malformed.length > 0) throw new ConfigurationError(`${malformed.join(', ')}: not an http(s) URL; use http://HOST:PORT or https://HOST/PATH`);
  return endpoints;
}

/**
 * Connects to the endpoint's host and port and closes at once. Refused, or a host name that does not resolve,
 * gives what to say of it; any other outcome (connected, slow, another error) lets the run go on, its own
 * retries deciding, so a busy or distant endpoint is never refused here.
 */
async function refusal({ url, option, parsed }: Endpoint, waitMs = 2000): Promise<string | undefined> {
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const socket = net.connect({ host, port });
    const end = (error?: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(error !== undefined && NOTHING_THERE.has(error.code ?? '') ? error : undefined);
    };
    const timer = setTimeout(() => end(), waitMs);
    socket.once('connect', () => end());
    socket.once('error', (error: NodeJS.ErrnoException) => end(error));
  });
  if (err === undefined) return undefined;
  const why = err.code === 'ENOTFOUND' ? `the host ${host} is not known` : `nothing accepts connections on ${host}:${port}`;
  return `${option} ${url}: ${why} (${err.code})`;
}

/** Box's own hosts (the defaults): not probed, a run against real Box finds out by itself. */
function isBoxHost(url: URL): boolean {
  return url.hostname === 'box.com' || url.hostname.endsWith('.box.com');
}

/**
 * The endpoints of a local run's Lambdas (`env` as lambdaEnvFor builds it): the S3 endpoint, and Box URLs that
 * are not Box's own, probed at once (together, so a run waits 2 s at most). Any refused is
 * Transfer.ConfigurationError naming each option refused.
 */
export async function requireEndpointsListening(env: Record<string, string | undefined>): Promise<void> {
  const probed = endpointsOf(env).filter((e) => e.option === '--s3-endpoint' || !isBoxHost(e.parsed));
  const refused = (await Promise.all(probed.map((e) => refusal(e)))).filter((r): r is string => r !== undefined);
  if (refused.length === 1) throw new ConfigurationError(`${refused[0]}; start the server or correct the URL`);
  if (refused.length > 1) throw new ConfigurationError(`${refused.join('; ')}; start the servers or correct the URLs`);
}
