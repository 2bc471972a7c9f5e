/** An error the CLI prints as one line ("p2pemu: …") before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes: 1 for runtime failures, 2 for bad input (usage, topology). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
