import { describe, expect, it } from 'vitest';
import {
  base64ToHex,
  boxErrorFromResponse,
  contentRangeHeader,
  digestHeader,
  hexToBase64,
  parseContentRange,
  parseRetryAfter,
  parseSha1Digest,
  partCount,
  planParts,
  sha1Base64,
  sha1Hex,
} from '../../src/box/index.ts';

describe('Box wire helpers', () => {
  const bytes = Buffer.from('The quick brown fox jumps over the lazy dog');

  it('hashes bytes as SHA-1 in base64 and hex', () => {
    expect(sha1Hex(bytes)).toBe('2fd4e1c67a2d28fced849ee1bb76e7391b93eb12');
    expect(sha1Base64(bytes)).toBe('L9ThxnotKPzthJ7hu3bnORuT6xI=');
    expect(hexToBase64(sha1Hex(bytes))).toBe(sha1Base64(bytes));
    expect(base64ToHex(sha1Base64(bytes))).toBe(sha1Hex(bytes));
  });

  it('builds and parses Digest and Content-Range headers', () => {
    expect(digestHeader('L9ThxnotKPzthJ7hu3bnORuT6xI=')).toBe('sha=L9ThxnotKPzthJ7hu3bnORuT6xI=');
    expect(parseSha1Digest('SHA=abc=')).toBe('abc=');
    expect(parseSha1Digest('sha-256=xyz, sha=abc=')).toBe('abc=');
    expect(parseSha1Digest('md5=xyz')).toBeUndefined();
    expect(contentRangeHeader(8388608, 8388608, 445856194)).toBe('bytes 8388608-16777215/445856194');
    expect(contentRangeHeader(0, 1, 1)).toBe('bytes 0-0/1');
    expect(() => contentRangeHeader(10, 0, 20)).toThrow(RangeError);
    expect(() => contentRangeHeader(10, 11, 20)).toThrow(RangeError);
    expect(parseContentRange('bytes 8388608-16777215/445856194')).toEqual({ offset: 8388608, size: 8388608, total: 445856194 });
    expect(parseContentRange('bytes 5-4/10')).toBeUndefined();
    expect(parseContentRange('items 0-4/10')).toBeUndefined();
  });

  it('plans parts: exact multiple, multiple plus one, smaller than one part, empty', () => {
    const mib = 1024 * 1024;
    expect(planParts(4 * mib, mib).map((p) => p.size)).toEqual([mib, mib, mib, mib]);
    const plusOne = planParts(4 * mib + 1, mib);
    expect(plusOne).toHaveLength(5);
    expect(plusOne[4]).toEqual({ index: 4, offset: 4 * mib, size: 1 });
    expect(planParts(10, mib)).toEqual([{ index: 0, offset: 0, size: 10 }]);
    expect(planParts(0, mib)).toEqual([]);
    expect(partCount(20_000_000, 8 * mib)).toBe(3);
    expect(() => planParts(10, 0)).toThrow(RangeError);
  });

  it('parses Retry-After as whole seconds or an IMF-fixdate HTTP-date, and nothing else', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:58Z'))).toBe(2);
    // Anything else is no Retry-After at all (the normal backoff applies), never 0.
    for (const bad of [
      '',
      '   ',
      'soon',
      '-1',
      '+5',
      '5, 5',
      '0.25',
      '1e3',
      '0x10',
      '5 s',
      '2026-01-01T00:00:30Z', // ISO 8601 is not an HTTP-date
      'Thu, 1 Jan 2026 00:00:30 GMT', // one-digit day
      'Thu, 01 Jan 2026 00:00:30 UTC',
      'Fri, 01 Jan 2026 00:00:30 GMT', // wrong weekday
      'Sat, 31 Feb 2026 00:00:30 GMT', // no such day
      'Thu, 01 Jan 2026 24:00:30 GMT',
      'Thursday, 01-Jan-26 00:00:30 GMT', // obsolete RFC 850 form
      'Thu Jan  1 00:00:30 2026', // obsolete asctime form
      '1 Jan 2026',
    ]) {
      expect(parseRetryAfter(bad, now), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('maps every error status and code to its class with the details', () => {
    const table: Array<[number, string, string]> = [
      [400, 'bad_request', 'Box.InvalidRequest'],
      [400, 'parts_mismatch', 'Box.PartsMismatch'],
      [400, 'digest_mismatch', 'Box.DigestMismatch'],
      [401, 'unauthorized', 'Box.Unauthorized'],
      [403, 'storage_limit_exceeded', 'Box.Forbidden'],
      [404, 'not_found', 'Box.NotFound'],
      [409, 'item_name_in_use', 'Box.Conflict'],
      [410, 'session_expired', 'Box.SessionExpired'],
      [412, 'precondition_failed', 'Box.PreconditionFailed'],
      [416, 'range_overlaps_existing_part', 'Box.RangeNotSatisfiable'],
      [429, 'rate_limit_exceeded', 'Box.RateLimited'],
      [500, 'internal_server_error', 'Box.ServerError'],
      [503, 'unavailable', 'Box.ServerError'],
      [413, 'request_entity_too_large', 'Box.Error'],
    ];
    for (const [status, code, name] of table) {
      const body = JSON.stringify({ type: 'error', status, code, message: `m-${code}`, request_id: 'rid-1', context_info: { x: 1 } });
      const error = boxErrorFromResponse(status, body, { 'retry-after': '7' }, 'PUT /2.0/files/upload_sessions/ABC');
      expect(error.name).toBe(name);
      expect(error.status).toBe(status);
      expect(error.code).toBe(code);
      expect(error.requestId).toBe('rid-1');
      expect(error.contextInfo).toEqual({ x: 1 });
      expect(error.retryAfterSeconds).toBe(7);
      expect(error.request).toBe('PUT /2.0/files/upload_sessions/ABC');
      expect(error.message).toContain(`m-${code}`);
      expect(error.toJSON()).toMatchObject({ name, status, code, requestId: 'rid-1' });
    }
    const nonJson = boxErrorFromResponse(502, '<html>bad gateway</html>', {}, 'GET /x');
    expect(nonJson.name).toBe('Box.ServerError');
    expect(nonJson.code).toBeUndefined();
  });
});
