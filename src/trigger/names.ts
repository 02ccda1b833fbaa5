// Execution names: how the trigger deduplicates. Step Functions keeps an execution's name for 90 days
// and answers a second StartExecution with the same name either with the first execution (same input,
// still running) or ExecutionAlreadyExists; so a name derived from the event makes a redelivered event
// start nothing new. Names here are 1-80 characters of [A-Za-z0-9-_]: the set Step Functions accepts
// everywhere (names with other characters break CloudWatch logging).
import { createHash, randomUUID } from 'node:crypto';
import type { CreatedObject } from './events.ts';
import { InvalidInputError } from '../transfer/errors.ts';

/** Step Functions' limit on execution names (StartExecution `name`). */
export const MAX_EXECUTION_NAME_LENGTH = 80;
const NAME = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_EXECUTION_NAME_LENGTH}}$`);
const HASH_HEX_CHARS = 32; // 128 bits of SHA-256: collisions are not a practical concern

export function isValidExecutionName(name: string): boolean {
  return NAME.test(name);
}

function sha256Hex(parts: readonly string[]): string {
  // JSON of the parts: unambiguous however the parts are split.
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** `text` reduced to [A-Za-z0-9-_] (other runs become one '-'), trimmed to `max` characters. */
function readablePart(text: string, max: number): string {
  return text
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

function named(prefix: string, readable: string, hash: string): string {
  const room = MAX_EXECUTION_NAME_LENGTH - prefix.length - 1 - hash.length - 1;
  const middle = readablePart(readable, room);
  return middle === '' ? `${prefix}-${hash}` : `${prefix}-${middle}-${hash}`;
}

/**
 * The execution name for one created object: `s3-<last key segment>-<sha256 of bucket, key, identity>`,
 * where the identity is the version id, else the event's sequencer, else the ETag. The same event
 * delivered twice gives the same name; a new write of the same key gives a new one. Returns undefined
 * when the event carries none of the three (then nothing can tell a redelivery from a new write).
 */
export function executionNameForObject(object: CreatedObject): string | undefined {
  const identity = object.versionId !== undefined
    ? ['version', object.versionId]
    : object.sequencer !== undefined
      ? ['sequencer', object.sequencer]
      : object.eTag !== undefined
        ? ['etag', object.eTag]
        : undefined;
  if (identity === undefined) return undefined;
  const hash = sha256Hex([object.bucket, object.key, ...identity]).slice(0, HASH_HEX_CHARS);
  return named('s3', object.key.slice(object.key.lastIndexOf('/') + 1), hash);
}

/** Most characters an Idempotency-Key may have. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** The execution name for an HTTP request's Idempotency-Key: `http-<readable key>-<sha256 of key>`. */
export function executionNameForIdempotencyKey(key: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw new InvalidInputError(
      `Idempotency-Key header must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces`,
    );
  }
  return named('http', key, sha256Hex(['idempotency-key', key]).slice(0, HASH_HEX_CHARS));
}

/** A fresh name for a request without Idempotency-Key (or an event without any identity). */
export function randomExecutionName(prefix: 'http' | 's3'): string {
  return `${prefix}-${randomUUID()}`;
}

/**
 * The ARN of the execution `name` of the state machine `stateMachineArn`
 * (arn:PARTITION:states:REGION:ACCOUNT:stateMachine:MACHINE -> ...:execution:MACHINE:NAME).
 */
export function executionArnFor(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[2] !== 'states' || parts[5] !== 'stateMachine') return `${stateMachineArn}:${name}`;
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}
