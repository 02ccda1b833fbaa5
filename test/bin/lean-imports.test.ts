// bin/lean-imports.js: in a process that registered it, aws-local-stepfunctions loads without the Lambda client,
// the Cognito credential provider and asl-validator, and a stand-in called anyway throws a named error; the
// same packages imported by anything else (here, this child itself) still load. Each case in a fresh process.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs an ES module script in a fresh Node process at the project root; returns its last stdout line as JSON. */
async function inChild(script: string): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

const LOADED = `
const seen = [];
const { registerHooks } = await import('node:module');
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
const loaded = (name) => seen.some((u) => u.includes('/node_modules/' + name + '/'));
`;

describe('registerLeanImports', () => {
  it('leaves the three unused packages out of the state machine library, which still runs a state machine', async () => {
    const r = await inChild(`${LOADED}
const { registerLeanImports } = await import('./bin/lean-imports.js');
const registered = registerLeanImports();
const { StateMachine } = await import('aws-local-stepfunctions');
const machine = new StateMachine({ StartAt: 'A', States: { A: { Type: 'Pass', Result: 42, End: true } } }, { validationOptions: { noValidate: true } });
const output = await machine.run({}).result;
process.stdout.write(JSON.stringify({ registered, output, lambda: loaded('@aws-sdk/client-lambda'), cognito: loaded('@aws-sdk/credential-providers'), validator: loaded('asl-validator') }));
`);
    expect(r).toEqual({ registered: true, output: 42, lambda: false, cognito: false, validator: false });
  });

  it("a Task state without a local handler fails with the stand-in's named error, not a Lambda call", async () => {
    const r = await inChild(`
const { registerLeanImports } = await import('./bin/lean-imports.js');
registerLeanImports();
const { StateMachine } = await import('aws-local-stepfunctions');
const machine = new StateMachine({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f', End: true } } }, { validationOptions: { noValidate: true } });
let error;
try { await machine.run({}).result; } catch (e) { error = e; }
const cause = error?.cause ?? error;
process.stdout.write(JSON.stringify({ name: cause?.name, message: String(cause?.message) }));
`);
    expect(r.name).toBe('LocalRunnerUnusedModule');
    expect(r.message).toContain('@aws-sdk/client-lambda was left out of the local runner');
  });

  it('any other importer still gets the real packages', async () => {
    const r = await inChild(`${LOADED}
const { registerLeanImports } = await import('./bin/lean-imports.js');
registerLeanImports();
await import('aws-local-stepfunctions');
const { LambdaClient } = await import('@aws-sdk/client-lambda');
process.stdout.write(JSON.stringify({ lambda: loaded('@aws-sdk/client-lambda'), real: typeof new LambdaClient({ region: 'us-east-1' }).send }));
`);
    expect(r).toEqual({ lambda: true, real: 'function' });
  });
});
