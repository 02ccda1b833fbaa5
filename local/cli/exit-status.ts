// The CLI's exit statuses, the same for every command (README "The command line"); a module of its own so that the
// command line can name them without loading the runner.
export const EXIT_STATUS = {
  done: 0,
  /** Failed, nothing to resume. */
  failed: 1,
  /** Bad usage or bad input. */
  usage: 2,
  /** Failed, and the Box session is kept: the resume command or input is printed. */
  resumable: 3,
  /** A bulk run finished with some objects failed. */
  someFailed: 4,
} as const;

/**
 * Error names that mean the input (or the command line's configuration) must change before a run can
 * succeed: what was asked is refused, nothing reaches Box as a file. Every command exits 2 on them.
 */
export const INPUT_ERROR_NAMES: ReadonlySet<string> = new Set([
  'Transfer.InvalidInput',
  'Transfer.SourceNotFound',
  'Transfer.SourceNotAllowed',
  'Transfer.SourceTooLarge',
  'Transfer.DestinationNotFound',
  'Transfer.DestinationNotAllowed',
  'Transfer.ConfigurationError',
  'Usage',
]);

/** The exit status of a command that ended with an error of this name and nothing to resume: 2 for bad input, else 1. */
export function exitStatusForError(name: string): number {
  return INPUT_ERROR_NAMES.has(name) ? EXIT_STATUS.usage : EXIT_STATUS.failed;
}

/**
 * The Lambdas' log lines as the CLI writes them: without --verbose, the `<endingTask> failed` line of a refusal
 * of the input (an INPUT_ERROR_NAMES error, such as Transfer.SourceNotFound found by Prepare's HeadObject or
 * Transfer.DestinationNotFound by PlanSync) is left out, since the command's final line says the same once;
 * every other line (retried failures, warnings, and the refusals of other tasks: in a sync, a nested transfer's
 * Prepare refusing one object, which no final line names) is written as it is.
 */
export function cliLogWrite(write: (line: string) => void, verbose: boolean, endingTask: 'Prepare' | 'PlanSync'): (line: string) => void {
  if (verbose) return write;
  return (line) => {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      write(line);
      return;
    }
    const e = entry as { level?: unknown; message?: unknown; error?: { name?: unknown } };
    const refusal = e.level === 'error' && typeof e.message === 'string' && e.message === `${endingTask} failed` && INPUT_ERROR_NAMES.has(String(e.error?.name));
    if (!refusal) write(line);
  };
}

/** A command line that cannot run as given (exit status 2); the message says what to change. */
export class UsageError extends Error {
  override name = 'Usage';
}
