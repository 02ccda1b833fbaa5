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
  if (messages.length === 0) {
    const inside = reportInsideSource(input as SyncInput);
    if (inside !== undefined) messages.push(inside);
  }
  if (messages.length > 0) throw new InvalidInputError(`Invalid sync input: ${[...new Set(messages)].join('; ')}`);
  return input as SyncInput;
}

/**
 * A run writes under `<report prefix><execution name>/` (the Distributed Map's results, report.jsonl): inside
 * the source prefix, the next run of the same sync would copy them into Box as objects of the source.
 */
function reportInsideSource(input: SyncInput): string | undefined {
  const { source, report } = input;
  if (!('prefix' in source)) return undefined;
  const reportPrefix = report.prefix ?? '';
  if (report.bucket !== source.bucket || !reportPrefix.startsWith(source.prefix)) return undefined;
  return (
    `report s3://${report.bucket}/${reportPrefix} lies inside the source s3://${source.bucket}/${source.prefix}: its files (results, ` +
    `report.jsonl) would be copied into Box by the next run of this sync; choose a report bucket or prefix outside the source`
  );
}
