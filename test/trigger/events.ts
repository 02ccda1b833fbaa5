// Event builders for the trigger tests, in the shapes AWS sends (S3 User Guide "Event message structure"
// and "EventBridge event message structure"; API Gateway HTTP API payload format 2.0).
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CreatedObject } from '../../src/trigger/events.ts';

/** An object as an event names it: what the trigger parses it into, but with the key as the event carries it. */
export type ObjectSpec = Omit<CreatedObject, 'key' | 'via'> & {
  /** As it appears in the event (URL-encoded the way S3 encodes it). */
  key: string;
};

/** S3 URL-encodes keys in events as an HTML form does: ' ' -> '+', others percent-encoded; '/' stays. */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

export function s3Notification(objects: ObjectSpec[]): { Records: unknown[] } {
  return {
    Records: objects.map((o) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: '2026-11-24T03:00:00.000Z',
      eventName: o.eventName ?? 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'transfers',
        bucket: { name: o.bucket, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${o.bucket}` },
        object: {
          key: o.key,
          ...(o.size !== undefined ? { size: o.size } : {}),
          ...(o.eTag !== undefined ? { eTag: o.eTag } : {}),
          ...(o.versionId !== undefined ? { versionId: o.versionId } : {}),
          ...(o.sequencer !== undefined ? { sequencer: o.sequencer } : {}),
        },
      },
    })),
  };
}

export function eventBridgeEvent(o: ObjectSpec): Record<string, unknown> {
  return {
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: '2026-11-24T03:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${o.bucket}`],
    detail: {
      version: '0',
      bucket: { name: o.bucket },
      object: {
        key: o.key,
        size: o.size ?? 5,
        ...(o.eTag !== undefined ? { etag: o.eTag } : {}),
        ...(o.versionId !== undefined ? { 'version-id': o.versionId } : {}),
        ...(o.sequencer !== undefined ? { sequencer: o.sequencer } : {}),
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: 'PutObject',
    },
  };
}

/** An API Gateway HTTP API (payload 2.0) request, as Lambda receives it. */
export function httpEvent(opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; method?: string; path?: string; base64?: boolean }): APIGatewayProxyEventV2 {
  const method = opts.method ?? 'POST';
  const path = opts.path ?? '/transfers';
  const raw = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'Content-Type': 'application/json', Host: 'abc123.execute-api.us-east-1.amazonaws.com', ...opts.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '24/Nov/2026:03:00:00 +0000',
      timeEpoch: 1795489200000,
    },
    ...(raw !== undefined ? { body: opts.base64 ? Buffer.from(raw).toString('base64') : raw } : {}),
    isBase64Encoded: opts.base64 ?? false,
  };
}

/** A Lambda-like context. */
export function lambdaContext(requestId = 'lambda-req-1'): { awsRequestId: string; functionName: string; getRemainingTimeInMillis(): number } {
  return { awsRequestId: requestId, functionName: 's3-to-box-test-startTransfer', getRemainingTimeInMillis: () => 15_000 };
}
