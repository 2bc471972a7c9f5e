import type { SpecPos } from './spec.js';

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

/** The error for a problem found after parsing, at a key the spec remembered: `FILE:LINE:COL: path: problem`. */
export function topologyErrorAt(at: SpecPos, problem: string): TopologyError {
  return new TopologyError(at.where, at.path ? `${at.path}: ${problem}` : problem);
}
