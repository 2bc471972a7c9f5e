// The copies of large READs and WRITEs a FUSE-over-io_uring queue thread hands
// to its copy thread (uring-copy-worker.ts), one job slot per ring entry, in a
// SharedArrayBuffer: the queue thread keeps taking and committing entries while
// a pread fills one entry's payload (or a pwrite drains it); the copy thread
// writes the queue's eventfd when a job is done, and the queue thread commits
// that entry's reply (only the thread that owns a ring submits on it).

const enum Slot {
  STATE,
  WRITE,
  FD,
  RESULT,
}
const INTS = 4;
const NUMS = 3; // address, len, position (doubles: exact below 2^53)
/** Int32 word after the slots: bumped on every post, what the copy thread waits on */
const JOBS_POSTED = 0;
const STOP = 1;
const HEADER_INTS = 2;

const IDLE = 0;
const POSTED = 1;
const DONE = 2;

export interface CopyJob {
  write: boolean;
  fd: number;
  address: bigint;
  len: number;
  position: number;
}

export class CopyJobs {
  private readonly ints: Int32Array;
  private readonly nums: Float64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly slots = buffer.byteLength / (8 * NUMS + 4 * INTS) - 1,
  ) {
    this.nums = new Float64Array(buffer, 0, slots * NUMS);
    this.ints = new Int32Array(buffer, slots * NUMS * 8, HEADER_INTS + slots * INTS);
  }

  static create(slots: number): CopyJobs {
    return new CopyJobs(new SharedArrayBuffer((slots + 1) * (8 * NUMS + 4 * INTS)), slots);
  }

  private at(slot: number, field: Slot): number {
    return HEADER_INTS + slot * INTS + field;
  }

  /** Queue thread: starts a job in a free slot (the entry's index). */
  post(slot: number, job: CopyJob): void {
    this.nums[slot * NUMS] = Number(job.address);
    this.nums[slot * NUMS + 1] = job.len;
    this.nums[slot * NUMS + 2] = job.position;
    this.ints[this.at(slot, Slot.WRITE)] = job.write ? 1 : 0;
    this.ints[this.at(slot, Slot.FD)] = job.fd;
    Atomics.store(this.ints, this.at(slot, Slot.STATE), POSTED);
    Atomics.add(this.ints, JOBS_POSTED, 1);
    Atomics.notify(this.ints, JOBS_POSTED);
  }

  /** Queue thread: the result of a finished job in slot (bytes moved or -errno), the slot freed; undefined: not done. */
  take(slot: number): number | undefined {
    if (Atomics.load(this.ints, this.at(slot, Slot.STATE)) !== DONE) return undefined;
    const result = this.ints[this.at(slot, Slot.RESULT)]!;
    Atomics.store(this.ints, this.at(slot, Slot.STATE), IDLE);
    return result;
  }

  /** Queue thread: the copy thread leaves once its jobs are done. */
  stop(): void {
    Atomics.store(this.ints, STOP, 1);
    Atomics.add(this.ints, JOBS_POSTED, 1);
    Atomics.notify(this.ints, JOBS_POSTED);
  }

  /** Copy thread: does posted jobs as they come (run does the copy), calling finished after each batch; returns when stopped. */
  serve(run: (job: CopyJob) => number, finished: () => void): void {
    for (;;) {
      const seen = Atomics.load(this.ints, JOBS_POSTED);
      let did = false;
      for (let slot = 0; slot < this.slots; slot++) {
        if (Atomics.load(this.ints, this.at(slot, Slot.STATE)) !== POSTED) continue;
        const n = slot * NUMS;
        const job = { write: this.ints[this.at(slot, Slot.WRITE)] === 1, fd: this.ints[this.at(slot, Slot.FD)]!, address: BigInt(this.nums[n]!), len: this.nums[n + 1]!, position: this.nums[n + 2]! };
        this.ints[this.at(slot, Slot.RESULT)] = run(job);
        Atomics.store(this.ints, this.at(slot, Slot.STATE), DONE);
        did = true;
        // each job's reply as soon as it is ready: the queue commits it while the next copy runs
        finished();
      }
      if (!did && Atomics.load(this.ints, STOP) === 1) return;
      Atomics.wait(this.ints, JOBS_POSTED, seen);
    }
  }
}
