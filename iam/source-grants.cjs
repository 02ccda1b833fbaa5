// Resolves the IAM resources of the `sourceBuckets` parameter at package time (serverless.yml:
// ${file(iam/source-grants.cjs):objectArns}). Each comma-separated entry is a bucket (every key) or
// bucket/prefix (keys starting with the prefix, literally: end it with '/' to mean a folder).
// Prepare and PlanSync apply the same parser at run time (src/transfer/allowed.ts imports it).
'use strict';

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// IAM wildcards and CloudFormation's ${} cannot be part of a literal prefix.
const PREFIX_FORBIDDEN = /[*?$]/;

/** [{ bucket, prefix }] from the parameter's text; throws a message saying what to fix. */
function parseSourceBuckets(text) {
  const value = typeof text === 'string' ? text.trim() : '';
  if (value === '') {
    throw new Error(
      'The sourceBuckets parameter is required: the buckets (and optional key prefixes) transfers may read, ' +
        'e.g. --param="sourceBuckets=my-exports,my-backups/finance/"',
    );
  }
  return value.split(',').map((raw) => {
    const entry = raw.trim();
    const slash = entry.indexOf('/');
    const bucket = slash < 0 ? entry : entry.slice(0, slash);
    const prefix = slash < 0 ? '' : entry.slice(slash + 1);
    if (!BUCKET.test(bucket)) {
      throw new Error(`sourceBuckets entry ${JSON.stringify(entry)}: ${JSON.stringify(bucket)} is not an S3 bucket name (3-63 of a-z 0-9 . -; no wildcards)`);
    }
    if (slash >= 0 && prefix === '') throw new Error(`sourceBuckets entry ${JSON.stringify(entry)}: write the bucket alone to allow all of it`);
    if (PREFIX_FORBIDDEN.test(prefix)) throw new Error(`sourceBuckets entry ${JSON.stringify(entry)}: a prefix cannot contain * ? or $`);
    return { bucket, prefix };
  });
}

/** arn:${AWS::Partition}:s3:::bucket/prefix* for each entry (Fn::Sub resolves the partition). */
function objectArns(text) {
  return parseSourceBuckets(text).map(({ bucket, prefix }) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${bucket}/${prefix}*` }));
}

/**
 * The policy document of a bulk run's listing (s3:ListBucket for the ItemReader's ListObjectsV2): a bucket
 * allowed whole may be listed whole; a bucket allowed only below prefixes may be listed only with a request
 * prefix inside one of them (the s3:prefix condition key: ListObjectsV2's Prefix), since key names are data
 * too. PlanSync refuses a prefix outside the allowed ones before anything is listed; this is IAM's half.
 */
function listBucketPolicy(text) {
  const entries = parseSourceBuckets(text);
  const whole = [...new Set(entries.filter(({ prefix }) => prefix === '').map(({ bucket }) => bucket))];
  const prefixes = new Map();
  for (const { bucket, prefix } of entries) {
    if (whole.includes(bucket)) continue;
    prefixes.set(bucket, [...new Set([...(prefixes.get(bucket) ?? []), `${prefix}*`])]);
  }
  const arn = (bucket) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${bucket}` });
  const statements = [];
  if (whole.length > 0) statements.push({ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: whole.map(arn) });
  for (const [bucket, patterns] of prefixes) {
    statements.push({ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: arn(bucket), Condition: { StringLike: { 's3:prefix': patterns } } });
  }
  return { Version: '2012-10-17', Statement: statements };
}

module.exports = {
  parseSourceBuckets,
  listBucketPolicy: async ({ resolveVariable }) => listBucketPolicy(await resolveVariable('param:sourceBuckets')),
  listBucketPolicyOf: listBucketPolicy,
  objectArns: async ({ resolveVariable }) => objectArns(await resolveVariable('param:sourceBuckets')),
  objectArnsOf: objectArns,
};
