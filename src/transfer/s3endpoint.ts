// Where a bucket's objects are, as the S3 client's own endpoint rules say, for the reads that bypass the SDK's
// middleware (src/bulk/smallRead.ts, src/transfer/leanGet.ts). Only the plain case: SigV4 signed with the
// client's credentials, no headers the rules add, no query; an access point ARN, S3 Express, SigV4a or any
// rule that adds headers is left to the SDK (undefined). A custom endpoint, path-style, FIPS and dual-stack
// settings are honoured since the client's rules resolve them.
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';

/** SHA-256 of an empty payload: a GET's x-amz-content-sha256. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface BucketEndpoint {
  /** e.g. https://bucket.s3.eu-west-1.amazonaws.com or http://127.0.0.1:4569/bucket (no trailing slash). */
  origin: string;
  /** http: or https: */
  protocol: string;
  hostname: string;
  port: number;
  basePath: string;
  /** The Host header (hostname, with the port when it is not the protocol's default). */
  host: string;
  signer: SignatureV4;
}

const endpoints = new WeakMap<S3Client, Map<string, Promise<BucketEndpoint | undefined>>>();

/** The bucket's endpoint for `s3`, resolved once per client and bucket (undefined: the SDK must read it). */
export function bucketEndpoint(s3: S3Client, bucket: string): Promise<BucketEndpoint | undefined> {
  let byBucket = endpoints.get(s3);
  if (byBucket === undefined) {
    byBucket = new Map();
    endpoints.set(s3, byBucket);
  }
  let endpoint = byBucket.get(bucket);
  if (endpoint === undefined) {
    endpoint = resolveEndpoint(s3, bucket).catch(() => undefined);
    byBucket.set(bucket, endpoint);
  }
  return endpoint;
}

async function resolveEndpoint(s3: S3Client, bucket: string): Promise<BucketEndpoint | undefined> {
  if (bucket.startsWith('arn:')) return undefined;
  const config = s3.config;
  const custom = config.isCustomEndpoint && config.endpoint !== undefined ? await config.endpoint() : undefined;
  const region = await config.region();
  const resolved = config.endpointProvider({
    Bucket: bucket,
    Region: region,
    UseFIPS: await config.useFipsEndpoint(),
    UseDualStack: await config.useDualstackEndpoint(),
    ForcePathStyle: config.forcePathStyle,
    Accelerate: config.useAccelerateEndpoint,
    UseGlobalEndpoint: await setting(config.useGlobalEndpoint),
    DisableMultiRegionAccessPoints: config.disableMultiregionAccessPoints,
    DisableS3ExpressSessionAuth: await setting(config.disableS3ExpressSessionAuth),
    ...(custom !== undefined ? { Endpoint: `${custom.protocol}//${custom.hostname}${custom.port !== undefined ? `:${custom.port}` : ''}${custom.path}` } : {}),
  });
  const schemes = resolved.properties?.['authSchemes'] as Array<{ name?: string; signingName?: string; signingRegion?: string }> | undefined;
  const scheme = schemes?.[0];
  if (scheme?.name !== 'sigv4' || Object.keys(resolved.headers ?? {}).length > 0 || resolved.url.search !== '') return undefined;
  const url = resolved.url;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return {
    origin: url.origin,
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    basePath: url.pathname.replace(/\/+$/, ''),
    host: url.host,
    signer: new SignatureV4({
      credentials: config.credentials,
      region: scheme.signingRegion ?? region,
      service: scheme.signingName ?? 's3',
      sha256: config.sha256,
      uriEscapePath: false,
      applyChecksum: false,
    }),
  };
}

/** A client setting given as a value or as a provider of one. */
async function setting(value: boolean | (() => Promise<boolean | undefined>) | undefined): Promise<boolean | undefined> {
  return typeof value === 'function' ? value() : value;
}

/** Keys whose path a URL could read otherwise (empty or dot segments) or with control characters go to the SDK. */
export function leanServesKey(key: string): boolean {
  // eslint-disable-next-line no-control-regex
  return key !== '' && !/[\u0000-\u001f\u007f]/.test(key) && key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** The object's path under the endpoint, its segments encoded as the SDK encodes them. */
export function objectPath(endpoint: BucketEndpoint, key: string): string {
  return `${endpoint.basePath}/${key.split('/').map(encodeKeySegment).join('/')}`;
}

/** As the SDK encodes a key's segments: encodeURIComponent, plus the characters it leaves alone. */
function encodeKeySegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '');
}
