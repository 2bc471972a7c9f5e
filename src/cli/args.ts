// One parseArgs table per command (strict: unknown options are usage errors).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { loadTopology } from '../config/index.js';
import type { TopologySpec } from '../config/index.js';
import { bootHostModel, type HostModel } from '../model/index.js';
import { TopologyError } from '../config/index.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${usage}`, EXIT_USAGE);
  }
}

/**
 * A topology for any command, checked in full: parsed, then booted (bus
 * numbers, resources, driver probe), so every problem is found before the
 * command creates anything. A bad file is a usage error: one positioned line, exit 2.
 */
export function modelOrExit(file: string | undefined): HostModel {
  try {
    return bootHostModel(loadTopology(file));
  } catch (err) {
    if (err instanceof TopologyError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

/** The spec of a topology that boots (see modelOrExit); the caller boots its own model from it. */
export function topologyOrExit(file: string | undefined): TopologySpec {
  return modelOrExit(file).pci.spec;
}
