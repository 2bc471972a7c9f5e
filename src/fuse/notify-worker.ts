// The notifier thread: writes notification messages to /dev/fuse and serves no
// requests, so a notification that waits on a writeback cannot deadlock it.

import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { fd } = workerData as { fd: number };

parentPort!.on('message', (msg: { id: number; buf: Uint8Array }) => {
  let error: string | undefined;
  try {
    writeSync(fd, msg.buf);
  } catch (err) {
    error = (err as NodeJS.ErrnoException).code ?? String(err);
  }
  parentPort!.postMessage({ id: msg.id, error });
});
