// The CLI's exit statuses (DESIGN.md "Contracts that users see"); a module of its own so that the
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

/** A command line that cannot run as given (exit status 2); the message says what to change. */
export class UsageError extends Error {
  override name = 'Usage';
}
