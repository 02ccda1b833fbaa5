// Validation of the bulk input against its published JSON Schema (input.schema.json), with messages that
// name the field, and the defaults every later step relies on.
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { describeInputError } from '../transfer/input.ts';
import { InvalidInputError } from '../transfer/errors.ts';
import type { SyncInput } from './contract.ts';
import syncInputSchema from './input.schema.json' with { type: 'json' };


// Compiled on first use: compiling costs more than a hundred ms of CPU, which every process that only
// imports this module (the other Lambdas, the CLI's other commands) would pay at start.
let compiled: ValidateFunction<SyncInput> | undefined;
function validateFn(input: unknown): input is SyncInput {
  compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: false }).compile<SyncInput>(syncInputSchema);
  return compiled(input);
}
function validationErrors(): ErrorObject[] {
  return compiled?.errors ?? [];
}

const PATTERN_MESSAGES: Record<string, string> = { 'destination.folderId': 'must be a string of digits' };

/** True when `input` asks for many objects (a prefix or a manifest) rather than one key. */
export function isSyncInput(input: unknown): boolean {
  const source = (input as { source?: unknown } | null)?.source;
  return typeof source === 'object' && source !== null && ('prefix' in source || 'manifest' in source);
}

/** Checks `input` and returns it typed; throws Transfer.InvalidInput naming every bad field. */
export function validateSyncInput(input: unknown): SyncInput {
  const messages: string[] = [];
  if (!validateFn(input)) messages.push(...validationErrors().map((e) => describeInputError(e, PATTERN_MESSAGES)));
  const source = (input as { source?: Record<string, unknown> } | null)?.source;
  if (typeof source === 'object' && source !== null) {
    const hasPrefix = 'prefix' in source;
    const hasManifest = 'manifest' in source;
    if (hasPrefix === hasManifest) messages.push('source must have exactly one of prefix and manifest');
  }
  if (messages.length > 0) throw new InvalidInputError(`Invalid sync input: ${[...new Set(messages)].join('; ')}`);
  return input as SyncInput;
}
