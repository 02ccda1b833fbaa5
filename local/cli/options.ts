// Parsing of CLI option values; each throws InvalidArgumentError so commander prints a clear message.
import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "256MiB", "20MB", "20000000", "1.5GiB" -> bytes (decimal units are powers of 10, binary of 2). */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new InvalidArgumentError(`"${value}" is not a size: use bytes or a unit such as 20MB, 256MiB, 1GiB.`);
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(Math.round(bytes))) throw new InvalidArgumentError(`"${value}" is too large.`);
  return Math.round(bytes);
}

/** parseSize, and more than zero (part sizes, bandwidth caps). */
export function parsePositiveSize(value: string): number {
  const bytes = parseSize(value);
  if (bytes <= 0) throw new InvalidArgumentError(`"${value}" is not a positive size.`);
  return bytes;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive whole number.`);
  return n;
}

/** A percentage from 0 to 100 (decimals allowed). */
export function parsePercentage(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError(`"${value}" is not a percentage from 0 to 100.`);
  return n;
}

/**
 * An http(s) URL with a host (an endpoint, a Box base URL, a queue URL), kept as typed. Anything else is refused
 * here, with the option named by commander (exit 2), rather than failing inside a Lambda as an Invalid URL.
 */
export function parseHttpUrl(value: string): string {
  httpUrl(value);
  return value;
}

/** parseHttpUrl's test, giving the parsed URL (for a caller that needs its host and port). */
export function httpUrl(value: string): URL {
  const url = URL.parse(value);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new InvalidArgumentError(`"${value}" is not an http(s) URL: use http://HOST:PORT or https://HOST/PATH.`);
  }
  return url;
}

/** "s3://bucket/some/key.bin" -> { bucket, key }. Keys keep spaces and any Unicode as given. */
export function parseS3Url(value: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not an S3 URL: use s3://BUCKET/KEY.`);
  return { bucket: m[1]!, key: m[2]! };
}

export function parseOnConflict(value: string): 'version' | 'rename' | 'fail' {
  if (value === 'version' || value === 'rename' || value === 'fail') return value;
  throw new InvalidArgumentError(`"${value}" is not one of version, rename, fail.`);
}

/** "s3://bucket", "s3://bucket/", "s3://bucket/some/prefix" -> { bucket, key } (key may be ""). */
export function parseS3Prefix(value: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not an S3 location: use s3://BUCKET/PREFIX.`);
  return { bucket: m[1]!, key: m[2] ?? '' };
}

function oneOf<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`"${value}" is not one of ${allowed.join(', ')}.`);
  };
}

export const parseLayout = oneOf(['mirror', 'flat'] as const);
export const parseSkip = oneOf(['same-content', 'same-name', 'none'] as const);
export const parseManifestFormat = oneOf(['inventory', 'jsonl', 'csv'] as const);
