// Runs Summarize (summarizeSync) in a process of its own against an S3 endpoint, so that a test can start it
// with a small V8 heap (--max-old-space-size): a Summarize that held the whole result set would die there.
// argv: <S3 endpoint> <SummarizeEvent as JSON>. Prints {summary} as JSON on stdout.
import { localS3Client } from '../../../local/runner/local-s3-client.ts';
import { summarizeSync } from '../../../src/bulk/report.ts';
import type { SummarizeEvent } from '../../../src/bulk/report.ts';
import { silentLogger } from '../../../src/transfer/logger.ts';

const [endpoint, eventJson] = process.argv.slice(2);
if (endpoint === undefined || eventJson === undefined) throw new Error('usage: summarize-child.ts <s3 endpoint> <event json>');
const s3 = localS3Client(endpoint);
const summary = await summarizeSync(JSON.parse(eventJson) as SummarizeEvent, { s3, logger: silentLogger });
s3.destroy();
process.stdout.write(JSON.stringify({ summary }));
