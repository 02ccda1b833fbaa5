// Loads the real state machine definition (statemachine/transfer.asl.yml) and makes it runnable
// locally: CloudFormation `Fn::GetAtt: [functionKey, Arn]` objects become fake Lambda ARNs, and the
// Task states are indexed by name (aws-local-stepfunctions keys its local handlers by state name).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { isRecord } from '../../src/transfer/json.ts';

export const DEFINITION_PATH = fileURLToPath(new URL('../../statemachine/transfer.asl.yml', import.meta.url));

/** The names of the Task states, which are also the keys of makeTaskHandlers(deps). */
export const TASK_STATE_NAMES = ['Prepare', 'DirectUpload', 'UploadBatch', 'HashObject', 'Commit', 'AbortSession', 'DescribeFailure'] as const;
export type TaskStateName = (typeof TASK_STATE_NAMES)[number];

export interface TaskStateInfo {
  /** The state's name (unique across the whole definition, nested states included). */
  name: string;
  /** The serverless function key from `Fn::GetAtt: [key, Arn]`. */
  functionKey: string;
  /** The fake ARN put in its place. */
  resource: string;
  /** The state's TimeoutSeconds (the local runner would default to 60 s; AWS to none). */
  timeoutSeconds: number | undefined;
  /** Fields of its Parameters that AWS fills from `$$.State.RetryCount`; the runner supplies them (see below). */
  retryCountFields: string[];
}

/** The context path aws-local-stepfunctions does not know (it has no `$$.State`). */
const RETRY_COUNT_PATH = '$$.State.RetryCount';

export interface LocalDefinition {
  /** Runnable by aws-local-stepfunctions: no CloudFormation objects left. */
  definition: StateMachineDefinition;
  /** Every Task state, nested ones (Map / Parallel) included, by state name. */
  tasks: Map<string, TaskStateInfo>;
  /** Every state's type by name, nested ones included. */
  stateTypes: Map<string, string>;
}

export interface LoadDefinitionOptions {
  /** Default: statemachine/transfer.asl.yml. */
  path?: string;
  region?: string;
  accountId?: string;
}

/** The definition file as YAML data, `Fn::GetAtt` objects untouched (what asl-validator and serverless see). */
export function readDefinitionFile(path: string = DEFINITION_PATH): Record<string, unknown> {
  const raw = load(readFileSync(path, 'utf8'));
  if (!isRecord(raw) || !isRecord(raw['States'])) throw new Error(`${path} is not a state machine definition`);
  return raw;
}

export function fakeLambdaArn(functionKey: string, region = 'us-east-1', accountId = '123456789012'): string {
  return `arn:aws:lambda:${region}:${accountId}:function:s3-to-box-local-${functionKey}`;
}

/** Replace every `{ 'Fn::GetAtt': [key, 'Arn'] }` with a fake Lambda ARN (a deep copy; the input is not changed). */
export function resolveGetAtt(value: unknown, arnOf: (functionKey: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveGetAtt(v, arnOf));
  if (!isRecord(value)) return value;
  const getAtt = value['Fn::GetAtt'];
  if (getAtt !== undefined) {
    const key = Array.isArray(getAtt) ? getAtt[0] : typeof getAtt === 'string' ? getAtt.split('.')[0] : undefined;
    if (typeof key !== 'string' || key === '') throw new Error(`Unsupported Fn::GetAtt: ${JSON.stringify(getAtt)}`);
    return arnOf(key);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveGetAtt(v, arnOf)]));
}

/** Load the definition and prepare it for aws-local-stepfunctions. */
export function loadLocalDefinition(options: LoadDefinitionOptions = {}): LocalDefinition {
  const raw = readDefinitionFile(options.path);
  const functionKeys = new Map<string, string>();
  const arnOf = (key: string): string => {
    const arn = fakeLambdaArn(key, options.region, options.accountId);
    functionKeys.set(arn, key);
    return arn;
  };
  return indexDefinition(resolveGetAtt(raw, arnOf) as Record<string, unknown>, functionKeys);
}

/** Tasks and state types of a machine (or a Map processor), as the local runner indexes them. */
export function indexDefinition(definition: Record<string, unknown>, functionKeys: Map<string, string>): LocalDefinition {
  const tasks = new Map<string, TaskStateInfo>();
  const stateTypes = new Map<string, string>();
  for (const [name, state] of walkStates(definition)) {
    if (stateTypes.has(name)) throw new Error(`State name ${name} is used twice; local handlers are keyed by state name`);
    stateTypes.set(name, String(state['Type']));
    if (state['Type'] !== 'Task') continue;
    const resource = String(state['Resource']);
    const timeout = state['TimeoutSeconds'];
    tasks.set(name, {
      name,
      functionKey: functionKeys.get(resource) ?? resource,
      resource,
      timeoutSeconds: typeof timeout === 'number' ? timeout : undefined,
      retryCountFields: takeRetryCountFields(state),
    });
  }
  return { definition: definition as unknown as StateMachineDefinition, tasks, stateTypes };
}

/**
 * aws-local-stepfunctions has no `$$.State`, so a Parameters field `x.$: $$.State.RetryCount` would fail
 * there. Such fields are removed from the loaded definition (the file itself is untouched, AWS runs it as
 * written) and their names returned: the runner then sets them on each invocation's event to the number
 * of times the state already ran with that same input, which is what RetryCount is (a Retry runs the state
 * again with the same input; every loop of this definition enters its states with a changed one).
 */
function takeRetryCountFields(state: Record<string, unknown>): string[] {
  const parameters = state['Parameters'];
  if (!isRecord(parameters)) return [];
  const fields: string[] = [];
  for (const [key, value] of Object.entries(parameters)) {
    if (key.endsWith('.$') && value === RETRY_COUNT_PATH) {
      fields.push(key.slice(0, -2));
      delete parameters[key];
    }
  }
  return fields;
}

/** Every state of a definition with its name, descending into Map processors and Parallel branches. */
export function* walkStates(machine: Record<string, unknown>): Generator<[string, Record<string, unknown>]> {
  const states = machine['States'];
  if (!isRecord(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isRecord(state)) continue;
    yield [name, state];
    const processor = state['ItemProcessor'] ?? state['Iterator'];
    if (isRecord(processor)) yield* walkStates(processor);
    const branches = state['Branches'];
    if (Array.isArray(branches)) {
      for (const branch of branches) if (isRecord(branch)) yield* walkStates(branch);
    }
  }
}
