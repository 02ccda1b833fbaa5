// How the Lambda Node.js runtime starts a function's process (local/lambda/runtime.ts), which the benches
// and the package test use to start a bundle as Lambda does: the bootstrap's heap options for the memory
// sizes of serverless.yml, and the exec wrapper in front of node when a function has one.
import { describe, expect, it } from 'vitest';
import { lambdaCommand, lambdaEnvironment, runtimeNodeOptions } from '../../local/lambda/runtime.ts';

describe('the Lambda Node.js runtime start', () => {
  it("gives V8 a tenth of the function's memory as young generation (two semi-spaces) and the rest as old", () => {
    expect(runtimeNodeOptions(1769)).toEqual(['--expose-gc', '--max-http-header-size', '81920', '--max-semi-space-size=88', '--max-old-space-size=1593']);
    expect(runtimeNodeOptions(3008)).toEqual(['--expose-gc', '--max-http-header-size', '81920', '--max-semi-space-size=150', '--max-old-space-size=2708']);
    expect(runtimeNodeOptions(256)).toEqual(['--expose-gc', '--max-http-header-size', '81920', '--max-semi-space-size=12', '--max-old-space-size=231']);
  });

  it('starts node itself without a wrapper, and the wrapper with node as its first argument otherwise', () => {
    expect(lambdaCommand({ memoryMb: 1024 }, '/usr/bin/node', ['entry.mjs', 'x'])).toEqual({
      file: '/usr/bin/node',
      args: [...runtimeNodeOptions(1024), 'entry.mjs', 'x'],
    });
    expect(lambdaCommand({ memoryMb: 1024, execWrapper: '/task/functions/exec-wrapper.sh' }, '/usr/bin/node', ['entry.mjs'])).toEqual({
      file: '/task/functions/exec-wrapper.sh',
      args: ['/usr/bin/node', ...runtimeNodeOptions(1024), 'entry.mjs'],
    });
  });

  it("sets the function's memory size in the environment, as the runtime does (the hash counts its vCPUs from it)", () => {
    expect(lambdaEnvironment({ memoryMb: 1769 })).toEqual({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769' });
  });
});
