// What the startTransfer Lambda receives, told apart and parsed: S3 event notifications
// (`Records[].s3`), EventBridge "Object Created" events from S3, and API Gateway HTTP API (payload 2.0)
// requests. S3 events become a list of created objects with their keys decoded.
import { InvalidInputError } from '../transfer/errors.ts';
import { isRecord } from '../transfer/json.ts';

/** One created S3 object, as an event names it. */
export interface CreatedObject {
  bucket: string;
  /** Decoded: the key as stored in S3. */
  key: string;
  versionId?: string;
  /** S3's per-key ordering token: equal for redeliveries of one event, different for each write. */
  sequencer?: string;
  eTag?: string;
  size?: number;
  /** e.g. `ObjectCreated:Put` (notification) or `PutObject` (EventBridge `detail.reason`). */
  eventName?: string;
  via: 's3-notification' | 'eventbridge';
}

/** An event record that is not an object creation, or is unusable; reported, never started. */
export interface IgnoredRecord {
  reason: string;
  bucket?: string;
  key?: string;
}

/**
 * `http-unsupported`: an API Gateway or load balancer request that is not HTTP API payload 2.0 (a REST
 * API or payload 1.0 integration); `unknown`: anything else.
 */
export type TriggerEventKind = 's3-notification' | 's3-test-event' | 'eventbridge' | 'http' | 'http-unsupported' | 'unknown';

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Which kind of event this is. */
export function triggerEventKind(event: unknown): TriggerEventKind {
  if (!isRecord(event)) return 'unknown';
  if (isRecord(event.requestContext) && isRecord(event.requestContext.http) && event.version === '2.0') return 'http';
  if (Array.isArray(event.Records)) return 's3-notification';
  // S3 sends this once when a notification configuration is saved.
  if (event.Event === 's3:TestEvent') return 's3-test-event';
  if (event.source === 'aws.s3' && typeof event['detail-type'] === 'string') return 'eventbridge';
  if (isRecord(event.requestContext) || typeof event.httpMethod === 'string') return 'http-unsupported';
  return 'unknown';
}

/** What startTransfer takes, for the answer to any other event. */
export const ACCEPTED_EVENTS =
  'startTransfer takes an S3 event notification, an EventBridge S3 event, or an API Gateway HTTP API (payload 2.0) request';

/**
 * S3 event notifications URL-encode the key as an HTML form does: "red flower.jpg" arrives as
 * "red+flower.jpg", a '+' as "%2B" (AWS S3 User Guide, "Event message structure": "The s3 key ...
 * is URL encoded"). So '+' means a space and %XX sequences are UTF-8 bytes.
 */
export function decodeS3EventKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new InvalidInputError(`S3 event key ${JSON.stringify(encoded)} is not validly URL-encoded`);
  }
}

/** The decoded key, or why the record is unusable: one bad record must not fail the others of its event. */
function decodedOrReason(rawKey: string): string | { reason: string } {
  try {
    return decodeS3EventKey(rawKey);
  } catch (err) {
    if (err instanceof InvalidInputError) return { reason: err.message };
    throw err;
  }
}

/** The objects of an S3 event notification; records that are not object creations, or are unusable, are ignored. */
export function parseS3Notification(event: unknown): { objects: CreatedObject[]; ignored: IgnoredRecord[] } {
  const records = isRecord(event) && Array.isArray(event.Records) ? event.Records : [];
  const objects: CreatedObject[] = [];
  const ignored: IgnoredRecord[] = [];
  for (const record of records) {
    const r = isRecord(record) ? record : {};
    const s3 = isRecord(r.s3) ? r.s3 : {};
    const bucket = isRecord(s3.bucket) ? optionalString(s3.bucket.name) : undefined;
    const object = isRecord(s3.object) ? s3.object : {};
    const rawKey = optionalString(object.key);
    const eventName = optionalString(r.eventName);
    if (r.eventSource !== 'aws:s3' || bucket === undefined || rawKey === undefined) {
      ignored.push({ reason: 'not an S3 object record', bucket });
      continue;
    }
    const key = decodedOrReason(rawKey);
    if (typeof key !== 'string') {
      ignored.push({ ...key, bucket });
      continue;
    }
    // "ObjectCreated:Put", or "s3:ObjectCreated:Put" from some S3-compatible servers.
    if (eventName === undefined || !/^(s3:)?ObjectCreated:/.test(eventName)) {
      ignored.push({ reason: `event ${eventName ?? '(none)'} is not an object creation`, bucket, key });
      continue;
    }
    objects.push({
      bucket,
      key,
      ...optionalFields(optionalString(object.versionId), optionalString(object.sequencer), optionalString(object.eTag), object.size),
      eventName,
      via: 's3-notification',
    });
  }
  return { objects, ignored };
}

/**
 * The object of an EventBridge "Object Created" event from S3 (`detail.bucket.name`, `detail.object.key`,
 * `version-id`, `sequencer`, `etag`). Its key is URL-encoded like a notification's: AWS Lambda Powertools
 * (Python, `S3EventBridgeNotificationObject.key` applies `unquote_plus`) and OpenSearch Data Prepper
 * (`S3EventBridgeNotification...getUrlDecodedKey`) both decode it, and S3 documents one key encoding for
 * its notifications. Decoding a key that has no '+' or '%' changes nothing.
 */
export function parseEventBridgeS3Event(event: unknown): { objects: CreatedObject[]; ignored: IgnoredRecord[] } {
  const e = isRecord(event) ? event : {};
  const detail = isRecord(e.detail) ? e.detail : {};
  const bucket = isRecord(detail.bucket) ? optionalString(detail.bucket.name) : undefined;
  const object = isRecord(detail.object) ? detail.object : {};
  const rawKey = optionalString(object.key);
  if (e['detail-type'] !== 'Object Created') {
    return { objects: [], ignored: [{ reason: `EventBridge ${String(e['detail-type'])} is not an object creation`, bucket }] };
  }
  if (bucket === undefined || rawKey === undefined) {
    return { objects: [], ignored: [{ reason: 'EventBridge event without detail.bucket.name or detail.object.key', bucket }] };
  }
  const key = decodedOrReason(rawKey);
  if (typeof key !== 'string') return { objects: [], ignored: [{ ...key, bucket }] };
  const reason = optionalString(detail.reason);
  return {
    objects: [
      {
        bucket,
        key,
        ...optionalFields(optionalString(object['version-id']), optionalString(object.sequencer), optionalString(object.etag), object.size),
        ...(reason !== undefined ? { eventName: reason } : {}),
        via: 'eventbridge',
      },
    ],
    ignored: [],
  };
}

function optionalFields(versionId: string | undefined, sequencer: string | undefined, eTag: string | undefined, size: unknown): Partial<CreatedObject> {
  // S3 writes "null" as the version of objects in unversioned (or suspended) buckets.
  const pinned = versionId !== undefined && versionId !== 'null' ? versionId : undefined;
  return {
    ...(pinned !== undefined ? { versionId: pinned } : {}),
    ...(sequencer !== undefined ? { sequencer } : {}),
    ...(eTag !== undefined ? { eTag: eTag.replace(/^"|"$/g, '') } : {}),
    ...(typeof size === 'number' && Number.isFinite(size) ? { size } : {}),
  };
}
