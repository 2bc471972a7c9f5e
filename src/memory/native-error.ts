// The errno of a failed libc call made through koffi, as a Node error.

import { constants } from 'node:os';
import koffi from 'koffi';

/** The errno of the last failed call (this thread's), with the code Node would give it. */
export function lastCallError(what: string): NodeJS.ErrnoException {
  const errno = koffi.errno();
  const code = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0];
  return Object.assign(new Error(`${what} failed (errno ${errno}${code ? `, ${code}` : ''})`), { errno, code: code ?? `E${errno}` });
}
