// A FUSE-over-io_uring queue's copy thread (uring-copy.ts): the pread of a
// large READ into an entry's payload, the pwrite of a large WRITE's data out
// of it, then a write to the queue's eventfd, for which the queue keeps a read
// queued on its ring, so it wakes and commits the reply.

import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { copyAtAddress } from '../memory/index.js';
import { CopyJobs } from './uring-copy.js';

const { jobs: buffer, eventfd } = workerData as { jobs: SharedArrayBuffer; eventfd: number };
const one = Buffer.alloc(8);
one.writeBigUInt64LE(1n);

new CopyJobs(buffer).serve(
  (job) => copyAtAddress(job.write, job.fd, job.address, job.len, job.position),
  () => writeSync(eventfd, one),
);
