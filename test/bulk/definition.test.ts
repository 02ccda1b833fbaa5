// The bulk definition: valid ASL, JSONPath only, four Distributed Maps that differ only in their
// ItemReader (and their processors only in the state names' prefix), every Task bounded, and what the
// local runner makes of it (Distributed Maps rewritten into Task states, processors kept aside).
import aslValidator from 'asl-validator';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { BULK_DEFINITION_PATH, LOCAL_DISTRIBUTED_MAP_RESOURCE, LOCAL_TRANSFER_STATE_MACHINE_ARN, loadBulkDefinition } from '../../local/runner/bulk-definition.ts';
import { readDefinitionFile, walkStates } from '../../local/runner/definition.ts';

type Json = Record<string, unknown>;
const raw = readDefinitionFile(BULK_DEFINITION_PATH);
const top = raw['States'] as Record<string, Json>;
const READERS = { CopyPrefix: 'Prefix', CopyInventory: 'Inventory', CopyJsonl: 'Jsonl', CopyCsv: 'Csv' } as const;

describe('statemachine/bulk.asl.yml', () => {
  it('is valid under asl-validator with path and ARN checks', () => {
    const result = aslValidator(structuredClone(raw), { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('uses JSONPath only: no JSONata, no Assign', () => {
    for (const [name, state] of walkStates(raw)) {
      expect(state['QueryLanguage'] ?? 'JSONPath', name).toBe('JSONPath');
      for (const field of ['Assign', 'Arguments', 'Output']) expect(state, `${name}.${field}`).not.toHaveProperty(field);
    }
    expect(JSON.stringify(raw)).not.toContain('{%');
  });

  it('has four Distributed Maps, STANDARD children, the same but for their ItemReader and state-name prefix', () => {
    const strip = (map: Json, prefix: string): string => {
      const { ItemReader: _reader, Comment: _comment, ...rest } = map;
      return JSON.stringify(rest).replace(new RegExp(`"${prefix}(?=[A-Z])`, "g"), "\"X");
    };
    const shapes = Object.entries(READERS).map(([name, prefix]) => {
      const map = top[name] as Json;
      expect(map['Type']).toBe('Map');
      expect((map['ItemProcessor'] as Json)['ProcessorConfig']).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
      for (const field of ['ItemReader', 'ItemBatcher', 'ResultWriter', 'MaxConcurrencyPath', 'ToleratedFailurePercentagePath']) expect(map, `${name}.${field}`).toHaveProperty(field);
      expect(map['Next']).toBe('Summarize');
      return strip(map, prefix);
    });
    expect(new Set(shapes).size).toBe(1);
    expect((top['CopyPrefix']!['ItemReader'] as Json)['Resource']).toBe('arn:aws:states:::s3:listObjectsV2');
    expect(((top['CopyCsv']!['ItemReader'] as Json)['ReaderConfig'] as Json)['InputType']).toBe('CSV');
    expect(((top['CopyJsonl']!['ItemReader'] as Json)['ReaderConfig'] as Json)['InputType']).toBe('JSONL');
    expect(((top['CopyInventory']!['ItemReader'] as Json)['ReaderConfig'] as Json)['InputType']).toBe('MANIFEST');
  });

  it('bounds every Task with TimeoutSeconds and retries the Lambda service errors', () => {
    for (const [name, state] of walkStates(raw)) {
      if (state['Type'] !== 'Task') continue;
      expect(state['TimeoutSeconds'], name).toBeTypeOf('number');
      const retried = ((state['Retry'] as Json[] | undefined) ?? []).flatMap((r) => r['ErrorEquals'] as string[]);
      if (String(JSON.stringify(state['Resource'])).includes('GetAtt')) expect(retried, name).toContain('Lambda.ServiceException');
    }
  });

  it('loads for the local runner: Distributed Maps become Task stand-ins, processors runnable, Ref resolved', () => {
    const local = loadBulkDefinition();
    expect([...local.maps.keys()].sort()).toEqual(Object.keys(READERS).sort());
    for (const name of Object.keys(READERS)) {
      const task = (local.parent.definition as unknown as { States: Record<string, Json> }).States[name]!;
      expect(task).toMatchObject({ Type: 'Task', Resource: LOCAL_DISTRIBUTED_MAP_RESOURCE, ResultPath: '$.mapRun', Next: 'Summarize' });
      expect(task).not.toHaveProperty('ItemReader');
      expect(() => new StateMachine(local.maps.get(name)!.processor.definition)).not.toThrow();
    }
    expect(() => new StateMachine(local.parent.definition)).not.toThrow();
    expect(JSON.stringify(local.maps.get('CopyPrefix')!.processor.definition)).toContain(LOCAL_TRANSFER_STATE_MACHINE_ARN);
    expect(JSON.stringify(local.parent.definition)).not.toMatch(/Fn::GetAtt|"Ref"/);
  });
});
