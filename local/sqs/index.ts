export { startLocalSqs } from './server.ts';
export type { LocalSqs } from './server.ts';
