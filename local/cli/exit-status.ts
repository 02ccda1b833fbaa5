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

/** A command line that cannot run as given (exit status 2); the message says what to change. */
export class UsageError extends Error {
  override name = 'Usage';
}
