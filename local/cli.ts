// The s3-to-box command line: the local demo (`npm start`), transfers against any S3 and any Box,
// and the Box upload emulator. Every command runs the same state machine and Lambdas as AWS does.
import { readFileSync } from 'node:fs';
import { CommanderError, Option } from 'commander';
import { emulatorCommand } from './box-emulator/cli.ts';
import { CliCommand } from './cli/command.ts';
import { EXIT_STATUS, exitStatusForError } from './cli/exit-status.ts';
import { parseHttpUrl, parseLayout, parseManifestFormat, parseOnConflict, parsePercentage, parsePositiveInt, parsePositiveSize, parseS3Prefix, parseS3Url, parseSize, parseSkip } from './cli/options.ts';

const program = new CliCommand();
// Usage errors exit 2 (commander's own default is 1); --help and --version still exit 0.
program.exitOverride();

program
  .name('s3-to-box')
  .description(
    "Move big files from Amazon S3 into Box with Box's chunked upload API. Runs the real Step Functions " +
      'definition locally (aws-local-stepfunctions) with the real Lambda handlers.',
  )
  .version(packageVersion(), '-V, --version', 'print the version of s3-to-box')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ sortSubcommands: false })
  .addHelpText(
    'after',
    `
Exit status (every command):
  ${EXIT_STATUS.done}  done
  ${EXIT_STATUS.failed}  failed, nothing to resume
  ${EXIT_STATUS.usage}  bad usage or bad input (the message says what to change): Transfer.InvalidInput,
     SourceNotFound, SourceNotAllowed, SourceTooLarge, DestinationNotFound, DestinationNotAllowed,
     ConfigurationError
  ${EXIT_STATUS.resumable}  failed, and the Box upload session is kept: the resume command or input is printed
  ${EXIT_STATUS.someFailed}  a bulk run finished with some objects failed

Examples:
  $ npx s3-to-box demo
  $ BOX_DEVELOPER_TOKEN=... s3-to-box transfer "s3://my-exports/2026/backup.tar" --folder 123456789
  $ s3-to-box abort F971964745A5CD0C001BBE4E58196BFD
  $ s3-to-box emulator --port 8088 --token dev-token
  $ s3-to-box <command> --help`,
  );

/** The version in the project's package.json (read, not imported, so that --help loads nothing else). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

program
  .command('demo', { isDefault: false })
  .summary('the whole pipeline on this machine, against a local S3 and the Box emulator (npm start)')
  .description(
    'Run the whole pipeline on this machine: start a local S3 (s3rver) and the Box emulator, put a generated ' +
      'object into a local bucket, transfer it into Box, download it back and compare SHA-1. This is what ' +
      '`npm start` runs; it exits 0 only if the bytes match.',
  )
  .addOption(new Option('--size <size>', 'size of the generated object (e.g. 20MB, 256MiB, 1GiB)').default(256 * 2 ** 20, '256MiB').argParser(parseSize))
  .addOption(new Option('--concurrency <n>', 'most part uploads in flight in total').default(8).argParser(parsePositiveInt))
  .addOption(new Option('--part-size <size>', 'part size the Box emulator hands out (default: Box-like policy, 8 MiB and up)').argParser(parsePositiveSize))
  .option('--json', 'print only the transfer output (and the verification) as JSON on stdout, no progress')
  .displayOptions()
  .addHelpText(
    'after',
    `
Exits 0 when the Box file's bytes match the source, 1 when the transfer fails or they differ, 2 for bad
usage, input or set-up (a malformed TRANSFER_* variable, a transfer refused as bad input). With --json a
failure prints the failure document (never resumable: the emulator ends with the demo).

Examples:
  $ npm start
  $ s3-to-box demo --size 1GiB --concurrency 16
  $ s3-to-box demo --size 21MB --part-size 8MiB --json`,
  )
  .action(async (opts: { size: number; concurrency: number; partSize?: number; json?: boolean; quiet?: boolean; verbose?: boolean }) => {
    const { runDemo } = await import('./cli/demo.ts');
    process.exitCode = await runDemo(opts);
  });

program
  .command('transfer')
  .summary('transfer one S3 object into a Box folder (the state machine, run locally)')
  .description(
    'Transfer one S3 object into a Box folder by running the state machine locally, against any S3 and any Box. ' +
      'S3 credentials come from the usual AWS environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...); none found is ' +
      'Transfer.ConfigurationError, exit 2. ' +
      'Box credentials, first found wins: --box-token; BOX_SECRET_ARN (a Secrets Manager secret, as in AWS); ' +
      'BOX_DEVELOPER_TOKEN; BOX_CLIENT_ID + BOX_CLIENT_SECRET with BOX_ENTERPRISE_ID or BOX_USER_ID ' +
      '(client credentials grant). Prefer the environment: a token on the command line is visible to other ' +
      'users of the machine.',
  )
  .argument('[s3-url]', 'the source object, s3://BUCKET/KEY (not with --resume-input)', parseS3Url)
  .option('--folder <id>', 'id of the destination Box folder ("0" is All Files); required unless --resume-input')
  .option('--name <name>', 'file name in Box (default: the last segment of the key)')
  .option('--file-id <id>', 'upload as a new version of this Box file')
  .option('--version-id <id>', 'S3 version of the object to copy (default: the current one, pinned at start)')
  .addOption(new Option('--on-conflict <policy>', 'when the name is taken: version | rename | fail').default('version').argParser(parseOnConflict))
  .addOption(new Option('--concurrency <n>', 'most part uploads in flight in total').default(8).argParser(parsePositiveInt))
  .addOption(new Option('--parts-per-batch <n>', 'parts per UploadBatch invocation (default: planned from the part count)').argParser(parsePositiveInt))
  .s3Options()
  .boxOptions()
  .option('--resume <session-id>', 'continue the Box upload session a failed run left open: only the missing parts are sent')
  .option('--resume-etag <etag>', 'with --resume: the ETag the failed run read; an object that no longer has it is refused (Transfer.SourceChanged) before anything is sent. The printed resume command carries it')
  .option(
    '--resume-ignore-expiry',
    'with --resume: go on even if the session may expire before the rest is sent at the assumed rate (otherwise refused with Transfer.SessionExpiring, the session kept). The printed resume command of that refusal carries it',
  )
  .option('--resume-input <file>', "the failed run's resumeInput (or its whole failure document) as JSON, from a file or - for stdin; replaces s3-url and the input options")
  .option('--json', 'print only the transfer output as JSON on stdout, no progress; on failure, the failure document')
  .displayOptions()
  .addHelpText(
    'after',
    `
A failed transfer exits 3 when its Box upload session is kept for a resume (and prints how to resume
or discard it), 1 when there is nothing to resume, 2 for bad usage or input. Ctrl-C stops the run and
keeps the session the same way. The printed resume command carries what the failed run pinned and
settled: the S3 version or ETag, the Box file name (after --on-conflict rename) and the file id of a new
version.

Examples:
  $ BOX_DEVELOPER_TOKEN=... s3-to-box transfer "s3://my-exports/2026/backup.tar" --folder 123456789
  $ s3-to-box transfer s3://my-bucket/big.bin --folder 0 --on-conflict rename --json
  $ s3-to-box transfer s3://my-bucket/big.bin --folder 0 --resume F971964745A5CD0C001BBE4E58196BFD
  $ s3-to-box transfer s3://my-bucket/big.bin --folder 0 --json > result.json || s3-to-box transfer --resume-input result.json
  $ s3-to-box transfer s3://demo/file.bin --folder 0 --s3-endpoint http://127.0.0.1:4568 \\
      --box-api-url http://127.0.0.1:8088 --box-upload-url http://127.0.0.1:8088/api --box-token dev-token`,
  )
  .action(async (source: { bucket: string; key: string } | undefined, opts: Record<string, unknown>, command: CliCommand) => {
    const { runTransferCommand } = await import('./cli/transfer.ts');
    const given = command.options.map((o) => o.attributeName()).filter((name) => command.getOptionValueSource(name) === 'cli');
    process.exitCode = await runTransferCommand(source, { ...opts, given } as never);
  });

program
  .command('abort')
  .summary('discard the Box upload session a failed or stopped transfer kept')
  .description(
    'Abort a Box upload session: Box deletes the parts stored so far. A failed or stopped transfer keeps its ' +
      'session so that it can be resumed (Box deletes it by itself 7 days after it was created); this discards ' +
      'it now. Box credentials as for transfer.',
  )
  .argument('<session-id>', 'the Box upload session id (the failure document\'s resumeInput.resume.sessionId)')
  .boxOptions()
  .regionOption('BOX_SECRET_ARN')
  .option('--json', 'print {"sessionId", "aborted"} as JSON on stdout')
  .addHelpText(
    'after',
    `
Exits 0 once Box has deleted the session, 1 when Box has no such open session (already committed,
aborted or expired) or refused, 2 for bad usage or set-up (missing Box credentials, no AWS credentials to
read BOX_SECRET_ARN with, a Box URL that is not http(s)).

Examples:
  $ BOX_DEVELOPER_TOKEN=... s3-to-box abort F971964745A5CD0C001BBE4E58196BFD`,
  )
  .action(async (sessionId: string, opts: Record<string, unknown>) => {
    const { runAbortCommand } = await import('./cli/abort.ts');
    process.exitCode = await runAbortCommand(sessionId, opts as never);
  });

program
  .command('status')
  .summary('the state of a transfer started in AWS (or on a local Step Functions API)')
  .description(
    'Show a transfer\'s state (RUNNING, SUCCEEDED, FAILED, ABORTED, TIMED_OUT, PENDING_REDRIVE), start and stop ' +
      'times, its output (the Box file) or its failure document, as GET /transfers/{name} answers (without the ' +
      'parts stored of a running transfer, which needs the Box credentials); for a bulk run its summary, or while ' +
      'it runs its objects listed, finished, running, waiting and failed. A name is looked up under each state ' +
      'machine known, the transfer one, then the bulk one (either alone will do: a bulk run needs only ' +
      '--bulk-state-machine-arn); the output says which held it. An execution ARN names its state machine, told ' +
      'apart by its definition (DescribeStateMachine; without that permission, by the deployed name s3-to-box-bulk-STAGE). ' +
      'Reads DescribeExecution, GetExecutionHistory, ListMapRuns and DescribeMapRun. ' +
      'Exit status: 0 found, 1 not found or Step Functions failed, 2 bad usage or a malformed name.',
  )
  .argument('<name-or-arn>', 'the execution name that POST /transfers returned, or the execution ARN')
  .option('--state-machine-arn <arn>', 'the transfer state machine (stack output TransferStateMachineArn; default STATE_MACHINE_ARN)')
  .option('--bulk-state-machine-arn <arn>', 'the bulk state machine, to find bulk runs by name (default BULK_STATE_MACHINE_ARN)')
  .regionOption('the stack')
  .option('--sfn-endpoint <url>', 'Step Functions endpoint (a local stand-in: local/sfn)', parseHttpUrl)
  .option('--json', 'print the status document as JSON')
  .addHelpText(
    'after',
    `
Examples:
  $ s3-to-box status http-backup-2026-11-3f2a... --state-machine-arn arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-prod
  $ BULK_STATE_MACHINE_ARN=arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-bulk-prod s3-to-box status http-nightly-7c1e...
  $ s3-to-box status arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-prod:http-backup-2026-11-3f2a... --json
  $ s3-to-box status arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-bulk-prod:http-nightly-7c1e...`,
  )
  .action(async (nameOrArn: string, opts: Record<string, unknown>) => {
    const { runStatusCommand } = await import('./cli/status.ts');
    process.exitCode = await runStatusCommand(nameOrArn, opts as never);
  });

program
  .command('sync')
  .summary('copy every object of a prefix (or a manifest) into a Box folder tree (the bulk state machine, run locally)')
  .description(
    'Copy many S3 objects into a Box folder tree by running the bulk state machine locally (its Distributed Map ' +
      'emulated), against any S3 and any Box: folders are created as needed, objects Box already holds are skipped, ' +
      'small objects are uploaded in batches and big ones through the one-object transfer. A per-object report ' +
      '(JSONL) is written under --report. Running the same sync again uploads nothing. Credentials as for transfer. ' +
      'Exit status: 0 done, 1 the run failed, 2 bad input, 4 some objects failed (see the report).',
  )
  .argument('<s3-prefix>', 'the source, s3://BUCKET/PREFIX (every key starting with PREFIX; folders mirrored below its last "/"); with --manifest, s3://BUCKET', parseS3Prefix)
  .requiredOption('--folder <id>', 'id of the destination Box folder ("0" is All Files)')
  .requiredOption('--report <s3-prefix>', 'where results and report.jsonl go: s3://BUCKET/PREFIX, outside the source (a prefix inside the synced one is refused: the next run would copy the reports)', parseS3Prefix)
  .addOption(new Option('--layout <layout>', 'mirror: key paths become Box subfolders; flat: every file in the folder').default('mirror').argParser(parseLayout))
  .addOption(new Option('--skip <rule>', 'what Box already holds: same-content | same-name | none').default('same-content').argParser(parseSkip))
  .option('--manifest <s3-url>', 'copy the keys listed in this object instead of a prefix: s3://BUCKET/KEY (its start is checked before anything is listed: a JSONL line or CSV header without a key is refused)', parseS3Url)
  .addOption(new Option('--manifest-format <format>', 'jsonl | csv | inventory (default: from the name: .jsonl, .csv, manifest.json)').argParser(parseManifestFormat))
  .addOption(new Option('--on-conflict <policy>', 'when a copied file\'s name is taken: version | rename | fail').default('version').argParser(parseOnConflict))
  .addOption(new Option('--objects-in-flight <n>', 'objects transferred at once (default 16)').argParser(parsePositiveInt))
  .addOption(new Option('--uploads-per-minute <n>', "Box upload requests per minute for the run (default 240, Box's documented limit per user)").argParser(parsePositiveInt))
  .addOption(new Option('--objects-per-batch <n>', 'objects per child workflow (default 100)').argParser(parsePositiveInt))
  .addOption(
    new Option('--tolerated-failures <percent>', 'objects that may fail, in percent, before the run fails (exit 4, report written; default 100)').argParser(parsePercentage),
  )
  .addOption(new Option('--concurrency <n>', 'part uploads in flight for each chunked object').argParser(parsePositiveInt))
  .option('--dry-run', 'print what would be copied or skipped, and into which folders; upload nothing, create no folder')
  .s3Options()
  .boxOptions()
  .option('--json', 'print only {summary, results} as JSON on stdout, no progress')
  .displayOptions()
  .addHelpText(
    'after',
    `
Examples:
  $ s3-to-box sync s3://my-exports/2026/ --folder 123456789 --report s3://my-reports/s3-to-box/
  $ s3-to-box sync s3://my-exports --manifest s3://my-exports/lists/today.jsonl --folder 0 --report s3://my-reports/ --dry-run
  $ s3-to-box sync s3://my-exports/media/ --folder 0 --report s3://my-reports/ --objects-in-flight 64 --uploads-per-minute 1000 --json`,
  )
  .action(async (source: { bucket: string; key: string }, opts: Record<string, unknown>) => {
    const { runSyncCommand } = await import('./cli/sync.ts');
    process.exitCode = await runSyncCommand(source, opts as never);
  });

program
  .command('replay-failed-events')
  .summary("start again the S3 events the trigger could not start (its on-failure SQS queue)")
  .description(
    'Replay the startTransfer trigger\'s on-failure queue: each queued event (Lambda\'s on-failure record) is routed ' +
      'and started exactly as the trigger does, and deleted from the queue once every object of it started. ' +
      'Execution names come from the event, so replaying twice starts nothing twice. An event that fails again ' +
      'stays in the queue. No request waits longer than --request-timeout: one that gets no answer stops the replay ' +
      '(the rest stay queued). Exit status: 0 all replayed (or none queued), 1 some failed again, were unreadable, ' +
      'or a request got no answer, 2 bad usage.',
  )
  .requiredOption('--queue-url <url>', 'the queue (stack output TriggerFailuresQueueUrl)', parseHttpUrl)
  .option('--state-machine-arn <arn>', 'the transfer state machine (stack output TransferStateMachineArn; default STATE_MACHINE_ARN)')
  .option('--routes <json>', 'the transferRoutes the stack was deployed with (default TRANSFER_ROUTES)')
  .regionOption('the stack')
  .addOption(new Option('--max <n>', 'replay at most this many queued events').argParser(parsePositiveInt))
  .addOption(new Option('--request-timeout <seconds>', 'most seconds one SQS request, or one event\'s StartExecution calls, wait for an answer').default(60).argParser(parsePositiveInt))
  .option('--sqs-endpoint <url>', 'SQS endpoint (a local stand-in)', parseHttpUrl)
  .option('--sfn-endpoint <url>', 'Step Functions endpoint (a local stand-in)', parseHttpUrl)
  .option('--json', 'print the summary as JSON')
  .option('--verbose', 'also print the log lines (JSON)')
  .addHelpText(
    'after',
    `
Examples:
  $ s3-to-box replay-failed-events --region eu-west-1 \\
      --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/s3-to-box-prod-trigger-failures \\
      --state-machine-arn arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-prod \\
      --routes '[{"bucket":"my-exports","prefix":"finance/","folderId":"123456789"}]'
  $ s3-to-box replay-failed-events --queue-url "$QUEUE_URL" --max 10 --json`,
  )
  .action(async (opts: Record<string, unknown>) => {
    const { runReplayCommand } = await import('./cli/replay.ts');
    process.exitCode = await runReplayCommand(opts as never);
  });

program.addCommand(emulatorCommand().exitOverride()); // addCommand does not pass the exit override on: usage errors exit 2 here too

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed the message already.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_STATUS.usage;
  } else {
    const e = err as Error;
    console.error(`${e.name}: ${e.message}`);
    process.exitCode = exitStatusForError(e.name);
  }
}
