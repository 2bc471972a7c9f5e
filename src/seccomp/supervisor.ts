// The supervisor loop: one thread (a worker of `p2pemu run`, never a FUSE
// reader) receives each notification of the command's filter, decides, and
// answers. It stops when the command exits (its pidfd becomes readable) or
// when no task uses the filter any more (POLLHUP on the listener).

import { DeviceNodes, fileKey } from './device-nodes.js';
import { answerMmap } from './mmap-answer.js';
import { closeFd, notifIdValid, notifRecv, notifSend, notifSyncWakeUp, pollIn, POLLHUP, SECCOMP_NOTIF_RESP_SIZE, SECCOMP_NOTIF_SIZE } from './native.js';
import { AUDIT_ARCH_X86_64, SYS } from './filter.js';
import { CONTINUE, decodeNotification, encodeAnswer, type Answer, type Notification } from './notification.js';
import { answerStat, answerStatfs, type StatContext } from './stat-answers.js';

export interface SupervisorOptions {
  /** the filter's listener fd */
  listener: number;
  /** a pidfd of the command: readable once it has exited */
  commandPidfd: number;
  /** the p2pemu mount the command's /sys and /dev come from */
  mnt: string;
}

const EINTR = 4;

function decide(ctx: StatContext, n: Notification): Answer {
  if (n.arch !== AUDIT_ARCH_X86_64) return CONTINUE;
  switch (n.nr) {
    case SYS.mmap:
      return answerMmap(ctx, n);
    case SYS.statfs:
    case SYS.fstatfs:
      return answerStatfs(ctx, n);
    default:
      return answerStat(ctx, n);
  }
}

export function supervise(o: SupervisorOptions): void {
  const mountDev = fileKey(o.mnt, 0)?.dev;
  if (!mountDev) throw new Error(`${o.mnt} cannot be read`);
  const ctx: StatContext = {
    mnt: o.mnt,
    mountDev,
    sysDev: fileKey('/sys', 0)?.dev,
    nodes: new DeviceNodes(o.mnt),
    stillValid: (n) => notifIdValid(o.listener, n.id),
  };
  // the caller waits for each answer: hand the CPU back and forth directly (where the kernel can)
  notifSyncWakeUp(o.listener);
  const notif = Buffer.alloc(SECCOMP_NOTIF_SIZE);
  const resp = Buffer.alloc(SECCOMP_NOTIF_RESP_SIZE);
  try {
    for (;;) {
      const ev = pollIn([o.listener, o.commandPidfd], -1);
      if (typeof ev === 'number') {
        if (ev === -EINTR) continue;
        break;
      }
      if (ev[1] !== 0 || ev[0]! & POLLHUP) break;
      if (ev[0] === 0) continue;
      // ENOENT: the caller was interrupted by a signal and the notification is gone
      if (notifRecv(o.listener, notif) < 0) continue;
      const n = decodeNotification(notif);
      let a: Answer;
      try {
        a = decide(ctx, n);
      } catch {
        // emulation, not a boundary: what the supervisor cannot decide runs as asked
        a = CONTINUE;
      }
      notifSend(o.listener, encodeAnswer(n.id, a, resp));
    }
  } finally {
    // tasks still under the filter (left running by the command) get ENOSYS from now on
    closeFd(o.listener);
  }
}
