// Types of source-grants.cjs, for the run-time check that shares its parser (src/transfer/allowed.ts).
interface SourceGrant {
  bucket: string;
  prefix: string;
}
type Resolver = (context: { resolveVariable(name: string): Promise<unknown> }) => Promise<Array<{ 'Fn::Sub': string }>>;
declare const grants: {
  parseSourceBuckets(text: string): SourceGrant[];
  objectArnsOf(text: string): Array<{ 'Fn::Sub': string }>;
  bucketArns: Resolver;
  objectArns: Resolver;
};
export = grants;
