// A local Step Functions API (AWS JSON 1.0 over loopback HTTP) that runs executions with the local
// runner: what the startTransfer Lambda's SFNClient talks to on this machine.
export { startLocalStepFunctions, LOCAL_STATE_MACHINE_ARN } from './server.ts';
export type { LocalStepFunctions, LocalStepFunctionsOptions, LocalExecutionRecord, ExecutionStatus } from './server.ts';
