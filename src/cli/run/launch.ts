// The command's own process under `p2pemu run`: installs the seccomp filter on
// itself (a listener, SECCOMP_FILTER_FLAG_NEW_LISTENER), tells the supervisor
// on fd 3 which fd the listener is, waits until the supervisor has taken it
// (pidfd_getfd), closes it and becomes the command. Only this thread carries
// the filter until exec; after exec it is the command's, and every thread and
// child of the command inherits it.
//
// usage (internal): node launch.js -- CMD [ARGS…]; fd 3: a socket to the supervisor

import { closeSync, readSync, writeSync } from 'node:fs';
import { buildFilter, closeFd, installListenerFilter } from '../../seccomp/index.js';
import { execvp } from './libc.js';

const CONTROL_FD = 3;

/** The supervisor's word once it has the listener: "go", or "stop" when it could not take it (the socket may be non-blocking). */
function awaitWord(): string {
  const b = Buffer.alloc(16);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      const n = readSync(CONTROL_FD, b, 0, b.length, null);
      return b.subarray(0, n).toString().trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return '';
      Atomics.wait(nap, 0, 0, 1);
    }
  }
}

const args = process.argv.slice(2);
if (args[0] !== '--' || args.length < 2) {
  process.stderr.write('usage: launch.js -- CMD [ARGS…]\n');
  process.exit(2);
}
const listener = installListenerFilter(buildFilter());
writeSync(CONTROL_FD, listener >= 0 ? `listener ${listener}\n` : `nofilter ${-listener}\n`);
if (listener >= 0) {
  // without the supervisor, every stat of the command would fail with ENOSYS: better not to start it
  if (awaitWord() !== 'go') process.exit(1);
  closeFd(listener);
}
closeSync(CONTROL_FD);
const err = execvp(args.slice(1));
process.stderr.write(`p2pemu run: ${err.message}\n`);
process.exit(127);
