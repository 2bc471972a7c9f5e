// One parseArgs table per command (strict: unknown options are usage errors).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { loadTopology } from '../config/parse-topology.js';
import type { TopologySpec } from '../config/spec.js';
import { TopologyError } from '../config/topology-error.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${usage}`, EXIT_USAGE);
  }
}

/** A topology for a command that prints something: a bad file is a usage error (exit 2, one line). */
export function topologyOrExit(file: string | undefined): TopologySpec {
  try {
    return loadTopology(file);
  } catch (err) {
    if (err instanceof TopologyError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}
