// Loads the bulk state machine (statemachine/bulk.asl.yml) for the local runner. aws-local-stepfunctions
// runs a Distributed Map as an inline Map over an input array and ignores ItemReader, ItemBatcher,
// ResultWriter, ToleratedFailure* and ProcessorConfig, so each Distributed Map state is rewritten here
// into a Task state of the same name (keeping ResultSelector, ResultPath, OutputPath, InputPath, Retry,
// Catch, Next/End) whose local handler is the emulation in distributed-map.ts; the Map's own fields and
// its ItemProcessor are kept aside, the processor as a definition of its own for the child executions.
import { fileURLToPath } from 'node:url';
import { fakeLambdaArn, indexDefinition, readDefinitionFile, resolveGetAtt } from './definition.ts';
import type { LocalDefinition } from './definition.ts';
import { isRecord } from '../../src/transfer/json.ts';

export const BULK_DEFINITION_PATH = fileURLToPath(new URL('../../statemachine/bulk.asl.yml', import.meta.url));
/** The resource the rewritten Distributed Map states carry (never called as a Lambda). */
export const LOCAL_DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::local:distributedMap';
export const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const LOCAL_TRANSFER_STATE_MACHINE = 's3-to-box-local';
export const LOCAL_BULK_STATE_MACHINE = 's3-to-box-bulk-local';
export const LOCAL_TRANSFER_STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${LOCAL_TRANSFER_STATE_MACHINE}`;

/** Longest Task timeout the local interpreter can hold (its timer is a 32-bit ms count). */
const LOCAL_MAX_TIMEOUT_SECONDS = 2_000_000;

/** A Distributed Map state as written, minus what became the Task state. */
export interface DistributedMapSpec {
  name: string;
  itemReader?: Record<string, unknown>;
  itemBatcher?: Record<string, unknown>;
  itemSelector?: Record<string, unknown>;
  resultWriter?: Record<string, unknown>;
  maxConcurrency?: number;
  maxConcurrencyPath?: string;
  toleratedFailurePercentage?: number;
  toleratedFailurePercentagePath?: string;
  toleratedFailureCount?: number;
  toleratedFailureCountPath?: string;
  /** The ItemProcessor as a runnable definition (child executions). */
  processor: LocalDefinition;
}

export interface LocalBulkDefinition {
  /** The parent machine, Distributed Maps rewritten into Task states. */
  parent: LocalDefinition;
  /** By the Distributed Map state's name. */
  maps: Map<string, DistributedMapSpec>;
}

/** `Ref: TransferStateMachine` becomes the local transfer state machine's ARN (a deep copy). */
function resolveRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolveRefs);
  if (!isRecord(value)) return value;
  if (typeof value['Ref'] === 'string' && Object.keys(value).length === 1) {
    if (value['Ref'] === 'TransferStateMachine') return LOCAL_TRANSFER_STATE_MACHINE_ARN;
    throw new Error(`Unsupported Ref in the bulk definition: ${value['Ref']}`);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v)]));
}

const KEPT_ON_TASK = ['Comment', 'InputPath', 'OutputPath', 'ResultPath', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End'];

/** The bulk definition as deployed (Lambda and state machine references resolved to local ARNs). */
export function resolvedBulkDefinition(path: string = BULK_DEFINITION_PATH, arnOf: (functionKey: string) => string = (key) => fakeLambdaArn(key, REGION, ACCOUNT)): Record<string, unknown> {
  return resolveRefs(resolveGetAtt(readDefinitionFile(path), arnOf)) as Record<string, unknown>;
}

export function loadBulkDefinition(path: string = BULK_DEFINITION_PATH): LocalBulkDefinition {
  const functionKeys = new Map<string, string>();
  const arnOf = (key: string): string => {
    const arn = fakeLambdaArn(key, REGION, ACCOUNT);
    functionKeys.set(arn, key);
    return arn;
  };
  const resolved = resolvedBulkDefinition(path, arnOf);
  const states = resolved['States'] as Record<string, Record<string, unknown>>;
  const maps = new Map<string, DistributedMapSpec>();
  for (const [name, state] of Object.entries(states)) {
    const processor = state['ItemProcessor'];
    if (state['Type'] !== 'Map' || !isRecord(processor) || !isRecord(processor['ProcessorConfig']) || processor['ProcessorConfig']['Mode'] !== 'DISTRIBUTED') continue;
    const { ProcessorConfig: _config, ...machine } = processor;
    const spec: DistributedMapSpec = { name, processor: indexDefinition(machine, functionKeys) };
    const pick = <T>(field: string): T | undefined => state[field] as T | undefined;
    const assign = <K extends keyof DistributedMapSpec>(key: K, value: DistributedMapSpec[K] | undefined): void => {
      if (value !== undefined) spec[key] = value;
    };
    assign('itemReader', pick('ItemReader'));
    assign('itemBatcher', pick('ItemBatcher'));
    assign('itemSelector', pick('ItemSelector'));
    assign('resultWriter', pick('ResultWriter'));
    assign('maxConcurrency', pick('MaxConcurrency'));
    assign('maxConcurrencyPath', pick('MaxConcurrencyPath'));
    assign('toleratedFailurePercentage', pick('ToleratedFailurePercentage'));
    assign('toleratedFailurePercentagePath', pick('ToleratedFailurePercentagePath'));
    assign('toleratedFailureCount', pick('ToleratedFailureCount'));
    assign('toleratedFailureCountPath', pick('ToleratedFailureCountPath'));
    if (state['ItemsPath'] !== undefined) throw new Error(`${name}: a Distributed Map with ItemsPath is not emulated (use an ItemReader)`);
    maps.set(name, spec);
    const task: Record<string, unknown> = { Type: 'Task', Resource: LOCAL_DISTRIBUTED_MAP_RESOURCE, TimeoutSeconds: LOCAL_MAX_TIMEOUT_SECONDS };
    for (const field of KEPT_ON_TASK) if (state[field] !== undefined) task[field] = state[field];
    states[name] = task;
  }
  return { parent: indexDefinition(resolved, functionKeys), maps };
}
