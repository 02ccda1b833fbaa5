// Validation of the transfer input against the published JSON Schema (input.schema.json),
// with messages that name the field, e.g. "destination.folderId must be a string of digits".
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import inputSchema from './input.schema.json' with { type: 'json' };
import type { TransferInput } from './contract.ts';
import { InvalidInputError } from './errors.ts';
import { boxNameProblem } from '../box/names.ts';

export { inputSchema };

// Compiled on first use: compiling costs more than a hundred ms of CPU, which every process that only
// imports this module (the other Lambdas, the CLI's other commands) would pay at start.
let compiled: ValidateFunction<TransferInput> | undefined;
function validateFn(input: unknown): input is TransferInput {
  compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: false }).compile<TransferInput>(inputSchema);
  return compiled(input);
}
function validationErrors(): ErrorObject[] {
  return compiled?.errors ?? [];
}

/** Messages for `pattern` failures, by field path. */
const PATTERN_MESSAGES: Record<string, string> = {
  'destination.folderId': 'must be a string of digits',
  'destination.fileId': 'must be a string of digits',
  'destination.fileName': "must not contain '/', '\\' or control characters, start or end with a space, or be '.' or '..'",
  'destination.folderPath':
    "must be folder names separated by single '/' (none empty, '.' or '..', none starting or ending with a space, no '\\')",
  'resume.sessionId': 'must be letters and digits (a Box upload session id)',
  'resume.fileId': 'must be a string of digits',
  'resume.fileName': "must not contain '/' or '\\', start or end with a space, or be '.' or '..'",
};

function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function join(path: string, child: string): string {
  return path === '' ? child : `${path}.${child}`;
}

/** A message for one ajv error that names the field, e.g. "destination.folderId must be a string of digits". */
export function describeInputError(err: ErrorObject, patternMessages: Record<string, string> = PATTERN_MESSAGES): string {
  const path = fieldPath(err.instancePath);
  const subject = path === '' ? 'the input' : path;
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return `${join(path, String(p.missingProperty))} is required`;
    case 'additionalProperties':
      return `${join(path, String(p.additionalProperty))} is not a known field`;
    case 'type':
      return `${subject} must be ${p.type === 'integer' ? 'an integer' : p.type === 'object' ? 'an object' : `a ${String(p.type)}`}`;
    case 'enum':
      return `${subject} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `${subject} ${patternMessages[path] ?? `must match ${String(p.pattern)}`}`;
    case 'minLength':
      return p.limit === 1 ? `${subject} must not be empty` : `${subject} must be at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `${subject} must be at most ${String(p.limit)} characters`;
    default:
      return `${subject} ${err.message ?? 'is invalid'}`;
  }
}

/** A name as a message shows it: JSON-quoted (control characters visible), long ones cut. */
function shown(name: string): string {
  return name.length > 40 ? `${JSON.stringify(name.slice(0, 40))}...` : JSON.stringify(name);
}

/**
 * The typed Box names of a schema-valid input that Box would refuse (a typed name is refused, never mapped: README "Input"):
 * each segment of destination.folderPath, destination.fileName and resume.fileName. Checked before
 * anything is created in Box, so a bad segment never leaves the folders before it behind.
 */
function boxNameMessages(input: TransferInput): string[] {
  const messages: string[] = [];
  const { folderPath, fileName } = input.destination;
  if (folderPath !== undefined) {
    folderPath.split('/').forEach((segment, i) => {
      const problem = boxNameProblem(segment);
      if (problem !== undefined) messages.push(`destination.folderPath segment ${i + 1} ${shown(segment)} ${problem}`);
    });
  }
  for (const [field, name] of [
    ['destination.fileName', fileName],
    ['resume.fileName', input.resume?.fileName],
  ] as const) {
    const problem = name === undefined ? undefined : boxNameProblem(name);
    if (problem !== undefined) messages.push(`${field} ${shown(name as string)} ${problem}`);
  }
  return messages;
}

/** Checks `input` and returns it typed; throws Transfer.InvalidInput naming every bad field. */
export function validateTransferInput(input: unknown): TransferInput {
  const messages = validateFn(input)
    ? boxNameMessages(input)
    : [...new Set(validationErrors().map((e) => describeInputError(e)))];
  if (messages.length === 0) return input as TransferInput;
  throw new InvalidInputError(`Invalid transfer input: ${messages.join('; ')}`);
}

/** The Box file name for a key: its last '/'-separated segment. */
export function defaultFileName(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const problem = boxNameProblem(name);
  if (problem !== undefined) {
    throw new InvalidInputError(
      `destination.fileName is required: the last segment of source.key ${JSON.stringify(key)} is not a usable Box file name (it ${problem})`,
    );
  }
  return name;
}
