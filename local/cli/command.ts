// The command line's Command: commander's, plus the option groups several commands share, so that each
// group (and its defaults from the environment) is written once. Subcommands are CliCommands too.
import { Command } from 'commander';
import { parseHttpUrl } from './options.ts';

function defaultRegion(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

export class CliCommand extends Command {
  override createCommand(name?: string): CliCommand {
    return new CliCommand(name);
  }

  /** `--region`, saying what it is the region of; default AWS_REGION, AWS_DEFAULT_REGION, us-east-1. */
  regionOption(of: string): this {
    return this.option('--region <region>', `AWS region of ${of}`, defaultRegion());
  }

  /** Where the source is: an S3-compatible endpoint and the bucket's region (transfer, sync). */
  s3Options(): this {
    return this.option('--s3-endpoint <url>', 'S3-compatible endpoint, http(s) (implies path-style addressing)', parseHttpUrl).regionOption('the bucket');
  }

  /** Where Box is and how to sign in (transfer, sync, abort). */
  boxOptions(): this {
    return this.option('--box-api-url <url>', 'Box API base URL', parseHttpUrl, process.env.BOX_API_URL ?? 'https://api.box.com')
      .option('--box-upload-url <url>', 'Box upload base URL', parseHttpUrl, process.env.BOX_UPLOAD_URL ?? 'https://upload.box.com/api')
      .option('--box-token <token>', 'Box developer token; wins over any credentials in the environment');
  }

  /** The live display of a local run (demo, transfer, sync). */
  displayOptions(): this {
    return this.option('--quiet', 'no progress display').option('--verbose', "also print the Lambdas' info logs (JSON lines), and their log line of a refusal of the input that the last line says");
  }
}
