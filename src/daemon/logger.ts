// pino for the daemon's own diagnostics: JSON to a file in the background,
// pretty lines when stderr is a terminal.

import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export const LOG_LEVELS: LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(level: string, destination?: number): Logger {
  const opts = { level, base: { pid: process.pid } };
  if (destination === undefined && process.stderr.isTTY) {
    return pino(opts, pretty({ destination: 2, sync: true, colorize: true }));
  }
  return pino(opts, pino.destination({ fd: destination ?? 2, sync: true }));
}
