/** A topology the emulator refuses; `where` is "file:line:col". The CLI prints it as one line and exits 2. */
export class TopologyError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = 'TopologyError';
  }
}
