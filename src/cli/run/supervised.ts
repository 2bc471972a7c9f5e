// Runs the command under the seccomp supervisor, from inside run's mount
// namespace: a child (launch.js) installs the filter on itself and execs the
// command; this process takes the filter's listener from it (pidfd_getfd) and
// answers in a worker thread (src/seccomp) while the main thread waits for the
// command. Resolves with the command's exit status (128 + signal when killed).

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { closeFd, pidfdGetfd, pidfdOpen, SUPERVISOR_WORKER, type SupervisorOptions } from '../../seccomp/index.js';

const LAUNCH = fileURLToPath(new URL('./launch.js', import.meta.url));

/** The first line the launcher writes on its control socket, or undefined when it exits first. */
function firstLine(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        stream.off('data', onData);
        resolve(text.slice(0, nl));
      }
    };
    stream.on('data', onData);
    stream.on('end', () => resolve(undefined));
    stream.on('error', () => resolve(undefined));
  });
}

function startSupervisor(opts: SupervisorOptions): Promise<void> {
  return new Promise((resolve) => {
    const w = new Worker(fileURLToPath(SUPERVISOR_WORKER), { workerData: opts });
    w.on('error', (err) => {
      // without its supervisor, the command's filtered calls fail with ENOSYS rather than wait forever
      process.stderr.write(`p2pemu run: the seccomp supervisor stopped: ${err.message}\n`);
      closeFd(opts.listener);
    });
    w.on('exit', () => resolve());
  });
}

export async function runSupervised(mnt: string, argv: string[]): Promise<number> {
  const child = spawn(process.execPath, [LAUNCH, '--', ...argv], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  // the terminal's Ctrl-C and Ctrl-\ are the command's; TERM and HUP sent to run reach it too
  const ignore = () => undefined;
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGHUP', forward('SIGHUP'));
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
  const control = child.stdio[3] as unknown as NodeJS.ReadWriteStream;
  const line = await firstLine(control);
  let supervisor: Promise<void> | undefined;
  const m = /^listener (\d+)$/.exec(line ?? '');
  if (m && child.pid !== undefined) {
    const pidfd = pidfdOpen(child.pid);
    const listener = pidfd < 0 ? pidfd : pidfdGetfd(pidfd, Number(m[1]));
    if (listener >= 0) {
      supervisor = startSupervisor({ listener, commandPidfd: pidfd, mnt });
      control.end('go\n');
    } else {
      // pidfd_getfd() came in Linux 5.6, user notification in 5.0
      process.stderr.write(`p2pemu run: cannot take the seccomp listener from the command (pidfd_getfd: errno ${-listener}; Linux >= 5.6 needed)\n`);
      control.end('stop\n');
    }
  } else {
    // the filter could not be installed: the command runs, FUSE's answers stand
    if (line?.startsWith('nofilter')) process.stderr.write(`p2pemu run: no seccomp user notification here (errno ${line.slice(9)}): device nodes, statfs and mmap() are FUSE's\n`);
    control.end('go\n');
  }
  const status = await exited;
  await supervisor;
  return status;
}
