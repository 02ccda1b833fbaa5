// What the local runner's process turns on before any of its modules load, shared by the CLI (bin/s3-to-box.js)
// and the bench's child (bench/child-start.js), so that the bench starts the runner exactly as users do:
// Node's on-disk cache of compiled code (in the OS temp folder) and our cache of the stripped TypeScript
// (bin/ts-cache.js) make later starts cheaper; what the state machine library loads and the runner never runs
// is left out (bin/lean-imports.js).
import { enableCompileCache } from 'node:module';

/** Call once, first thing; `root` is the project's folder as a file: URL ending in '/'. */
export async function prepareRunnerStart(root) {
  // First, so that the modules below are compiled through the cache too.
  enableCompileCache?.();
  const { registerTypeScriptCache } = await import('./ts-cache.js');
  registerTypeScriptCache(root);
  const { registerLeanImports } = await import('./lean-imports.js');
  registerLeanImports();
}
