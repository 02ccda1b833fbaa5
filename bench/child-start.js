// The bench's child process (bench/child.ts) starts here, as bin/s3-to-box.js starts the CLI, the local runner's
// process: from a JavaScript entry (a TypeScript entry would load Node's type stripper, which the CLI's start
// never does), with Node's compile cache, the stripped-TypeScript cache (bin/ts-cache.js) and the runner's lean
// imports (bin/lean-imports.js) in place before any module of a job loads.
//   node bench/child-start.js '<job as JSON>'   (arguments as bench/child.ts takes them)
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const { registerTypeScriptCache } = await import('../bin/ts-cache.js');
registerTypeScriptCache(new URL('../', import.meta.url).href);
const { registerLeanImports } = await import('../bin/lean-imports.js');
registerLeanImports();
await import('./child.ts');
