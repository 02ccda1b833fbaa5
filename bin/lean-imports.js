// What the local runner's state machine library imports and the runner never runs, left out of its process.
// aws-local-stepfunctions imports the AWS SDK's Lambda client and its Cognito credential provider (for a Task
// state with no local handler) and asl-validator (to check a definition) when it loads. The local runner gives
// every Task state a local handler and builds its state machines with validation off (the tests validate the
// definitions), so none of the three ever runs; loading them costs CPU at every start (with importing only the
// transfer's handlers, about 0.1 s less per start, measured on the 2-core machine the bench runs on; not a bench row). Each is replaced by a stand-in that throws a named error if it is ever called.
// Only imports made by aws-local-stepfunctions itself are replaced; everything else resolves as before.
import { registerHooks } from 'node:module';

const UNUSED = new Set(['@aws-sdk/client-lambda', '@aws-sdk/credential-providers', 'asl-validator']);

const STAND_IN = `
class LocalRunnerUnusedModule extends Error {
  constructor(what) {
    super(what + ' was left out of the local runner (bin/lean-imports.js): every Task state runs a local handler and definitions are not validated at run time');
    this.name = 'LocalRunnerUnusedModule';
  }
}
export class LambdaClient { constructor() { throw new LocalRunnerUnusedModule('@aws-sdk/client-lambda'); } }
export class InvokeCommand { constructor() { throw new LocalRunnerUnusedModule('@aws-sdk/client-lambda'); } }
export function fromCognitoIdentityPool() { throw new LocalRunnerUnusedModule('@aws-sdk/credential-providers'); }
export default function aslValidator() { throw new LocalRunnerUnusedModule('asl-validator'); }
`;
const STAND_IN_URL = `data:text/javascript,${encodeURIComponent(STAND_IN)}`;

/** The library whose imports are replaced (its own files only, wherever node_modules is). */
function fromStateMachineLibrary(parentURL) {
  return typeof parentURL === 'string' && parentURL.includes('/node_modules/aws-local-stepfunctions/');
}

/**
 * Registers the replacement in this process; call it before anything imports aws-local-stepfunctions.
 * Returns whether it was registered (false on a Node without module.registerHooks: then nothing changes).
 */
export function registerLeanImports() {
  if (typeof registerHooks !== 'function') return false;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (UNUSED.has(specifier) && fromStateMachineLibrary(context.parentURL)) return { url: STAND_IN_URL, format: 'module', shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
  return true;
}
