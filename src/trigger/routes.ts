// Routing of S3 objects to Box folders for the startTransfer trigger. The routes come from the
// TRANSFER_ROUTES environment variable, a JSON array (startTransfer checks it on its first invocation):
//
//   [{ "bucket": "exports", "prefix": "finance/", "folderId": "123", "onConflict": "rename" },
//    { "bucket": "exports", "folderId": "456" }]
//
// Rule: among the routes of the object's bucket whose prefix starts its key, the longest prefix wins
// (so the order of the list does not matter); a route without prefix matches every key of its bucket.
// Two routes with the same bucket and prefix are a configuration error. No match: the object is skipped.
//
// Where in the folder the object lands is the route's `layout` (see placementFor in ./layout.ts):
// `mirror` (default: the key's path below the prefix's last '/' becomes Box subfolders), `flat` (every
// object directly in the folder, named by its key's last segment: two keys with one name become versions
// of one file, which only this layout allows), or a file name template such as "{dir}_{name}".
import type { OnConflict } from '../transfer/contract.ts';
import { ConfigurationError } from '../transfer/errors.ts';
import { layoutProblem } from './layout.ts';
import type { RouteLayout } from './layout.ts';

export type { RouteLayout };

export interface TransferRoute {
  bucket: string;
  /** Key prefix, matched against the decoded key; '' (the default) matches every key. */
  prefix: string;
  /** Box folder id. */
  folderId: string;
  onConflict?: OnConflict;
  /** `mirror` (the default), `flat`, or a file name template (see ./layout.ts). */
  layout: RouteLayout;
}

const ROUTE_FIELDS = new Set(['bucket', 'prefix', 'folderId', 'onConflict', 'layout']);
const ON_CONFLICT: readonly OnConflict[] = ['version', 'rename', 'fail'];
// S3 bucket naming rules (3-63 characters of lower-case letters, digits, '.' and '-').
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const DIGITS = /^[0-9]+$/;

function routeError(message: string): ConfigurationError {
  return new ConfigurationError(`TRANSFER_ROUTES: ${message}`);
}

function checkRoute(value: unknown, index: number): TransferRoute {
  const at = `routes[${index}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw routeError(`${at} must be an object`);
  const r = value as Record<string, unknown>;
  for (const field of Object.keys(r)) {
    if (!ROUTE_FIELDS.has(field)) throw routeError(`${at}.${field} is not a known field (known: bucket, prefix, folderId, onConflict, layout)`);
  }
  if (typeof r.bucket !== 'string' || !BUCKET_NAME.test(r.bucket)) throw routeError(`${at}.bucket must be an S3 bucket name`);
  if (r.prefix !== undefined && typeof r.prefix !== 'string') throw routeError(`${at}.prefix must be a string`);
  if (typeof r.folderId !== 'string' || !DIGITS.test(r.folderId)) throw routeError(`${at}.folderId must be a string of digits`);
  if (r.onConflict !== undefined && !ON_CONFLICT.includes(r.onConflict as OnConflict)) {
    throw routeError(`${at}.onConflict must be one of "version", "rename", "fail"`);
  }
  let layout: RouteLayout = 'mirror';
  if (r.layout !== undefined) {
    if (typeof r.layout !== 'string') throw routeError(`${at}.layout must be "mirror", "flat" or a file name template`);
    const problem = layoutProblem(r.layout);
    if (problem !== undefined) throw routeError(`${at}.layout ${problem}`);
    layout = r.layout;
  }
  return {
    bucket: r.bucket,
    prefix: (r.prefix as string | undefined) ?? '',
    folderId: r.folderId,
    ...(r.onConflict !== undefined ? { onConflict: r.onConflict as OnConflict } : {}),
    layout,
  };
}

/** Parses and checks TRANSFER_ROUTES; undefined or blank means no routes. Throws Transfer.ConfigurationError naming the field. */
export function parseRoutes(json: string | undefined): TransferRoute[] {
  if (json === undefined || json.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw routeError('is not valid JSON');
  }
  if (!Array.isArray(parsed)) throw routeError('must be a JSON array of routes');
  const routes = parsed.map(checkRoute);
  const seen = new Map<string, number>();
  routes.forEach((route, index) => {
    const id = JSON.stringify([route.bucket, route.prefix]);
    const first = seen.get(id);
    if (first !== undefined) throw routeError(`routes[${index}] has the same bucket and prefix as routes[${first}]`);
    seen.set(id, index);
  });
  return routes;
}

/** The routes of TRANSFER_ROUTES in `env` (see parseRoutes). */
export function routesFromEnv(env: Record<string, string | undefined> = process.env): TransferRoute[] {
  return parseRoutes(env.TRANSFER_ROUTES);
}

/** The route for s3://bucket/key: the longest matching prefix of the bucket's routes, or undefined. */
export function matchRoute(routes: readonly TransferRoute[], bucket: string, key: string): TransferRoute | undefined {
  let best: TransferRoute | undefined;
  for (const route of routes) {
    if (route.bucket !== bucket || !key.startsWith(route.prefix)) continue;
    if (best === undefined || route.prefix.length > best.prefix.length) best = route;
  }
  return best;
}
