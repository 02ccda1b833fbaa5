// How AWS Lambda's Node.js runtime starts a function's process, for benches and tests that run a bundle
// as Lambda runs it. The runtime's bootstrap (/var/runtime/bootstrap in AWS's Node.js base images) sizes
// V8's heap from the function's memory (a tenth for the young generation, split in two semi-spaces; the
// rest for the old generation) and starts `node <its options> /var/runtime/index.mjs`; when the function's
// AWS_LAMBDA_EXEC_WRAPPER names a script, it starts `<script> node <its options> /var/runtime/index.mjs`
// instead, and the script is to exec the rest (functions/exec-wrapper.sh).

/** The node options the runtime's bootstrap gives a function of `memoryMb` (before the wrapper adds any). */
export function runtimeNodeOptions(memoryMb: number): string[] {
  const newSpaceMb = Math.floor(memoryMb / 10);
  return ['--expose-gc', '--max-http-header-size', '81920', `--max-semi-space-size=${Math.floor(newSpaceMb / 2)}`, `--max-old-space-size=${memoryMb - newSpaceMb}`];
}

export interface LambdaProcess {
  /** The function's memory (MB), as configured. */
  memoryMb: number;
  /** The local path of the function's AWS_LAMBDA_EXEC_WRAPPER script, if it has one. */
  execWrapper?: string | undefined;
}

/**
 * The command that runs `entry` (the runtime's entry script and its arguments) in a process started as
 * Lambda starts the function's: through its exec wrapper, if any, with the runtime's node options.
 */
export function lambdaCommand(fn: LambdaProcess, node: string, entry: string[]): { file: string; args: string[] } {
  const args = [...runtimeNodeOptions(fn.memoryMb), ...entry];
  return fn.execWrapper === undefined ? { file: node, args } : { file: fn.execWrapper, args: [node, ...args] };
}

/**
 * What the Lambda runtime sets about the function, set here as it does: AWS_LAMBDA_FUNCTION_MEMORY_SIZE (its memory as configured).
 */
export function lambdaEnvironment(fn: LambdaProcess): Record<string, string> {
  return { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb) };
}
