// A mounted FUSE session: the /dev/fuse fd, reader workers that block on it,
// a notifier worker, and the main-thread dispatcher for everything that is not
// the data path.

import { closeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ERRNO } from '../errno.js';
import { encodeInvalEntry, encodeInvalInode, encodeRetrieve, encodeStore } from './notify.js';
import { OPCODE_NAMES, OUT_HEADER_SIZE } from './protocol.js';
import { INFLIGHT_BUSY, INFLIGHT_OPCODE, INFLIGHT_UNIQUE, INFLIGHT_WORDS, type ReaderData, type ReaderMessage, type ReaderTestHook } from './reader-protocol.js';
import { sendReply, writeOutHeader, type ReplyFailure } from './reply.js';
import { mountFuse, openFuseDevice, tuneBdi, unmountFuse, type BdiTuning } from './mount.js';
import { FuseSessionCore, type HandlerBug } from './session-core.js';
import { NO_REPLY } from './ops-table.js';
import type { FuseFilesystem } from './types.js';
import { UringQueues } from './uring-queues.js';

/**
 * make bench: readahead 2048 KiB took buffered 1 MiB reads from 0.28 to 0.42 of
 * raw; lifting the dirty limits took the second pass over a 256 MiB allocate
 * mapping from 0.15 of anonymous memory to 0.97.
 */
const BDI_TUNING: BdiTuning = { readAheadKb: 2048, maxRatio: 100, strictLimit: false };

/**
 * Reader threads by default: one per CPU, at least 2 (a page fault must be
 * served while another request waits) and at most 4. make bench on 2 cores,
 * 2 readers against 4 (native-notes/performance.md): random 4 KiB reads 0.042
 * -> 0.057 of raw, the 1 MiB P2P copy 0.50 -> 0.62 of host memory; more
 * threads than cores only wait for one.
 */
export const DEFAULT_READERS = Math.min(4, Math.max(2, availableParallelism()));

/**
 * How requests reach the daemon: /dev/fuse reads and writes, FUSE over
 * io_uring (a ring per CPU, native-notes/fuse-session.md), or io_uring where
 * the kernel allows it and /dev/fuse otherwise.
 */
export type FuseTransport = 'auto' | 'uring' | 'devfuse';
export const FUSE_TRANSPORTS: readonly FuseTransport[] = ['auto', 'uring', 'devfuse'];
export const DEFAULT_TRANSPORT: FuseTransport = 'devfuse';

export interface FuseSessionOptions {
  /** default DEFAULT_TRANSPORT */
  transport?: FuseTransport;
  /**
   * test-only: io_uring is not allowed, as where io_uring_setup fails ('setup')
   * or the kernel does not offer FUSE_OVER_IO_URING in INIT ('init': enable_uring off)
   */
  uringTestUnavailable?: 'setup' | 'init';
  mountpoint: string;
  fsname: string;
  /** reader threads blocking on /dev/fuse (page faults must be served while another request waits) */
  readers?: number;
  allowOther?: boolean;
  log: Logger;
  /** test-only: a reader dies holding the request that matches */
  readerTestHook?: ReaderTestHook;
}

export class FuseSession {
  private fd = -1;
  private core!: FuseSessionCore;
  private readers: Worker[] = [];
  private queues: UringQueues | undefined;
  private notifier: Worker | undefined;
  private notifySeq = 1;
  private readonly pendingNotify = new Map<number, (error?: string) => void>();
  private exited!: Promise<void>;
  private unmounting = false;
  /** Called once when the connection ends without our unmount (killed, aborted, umount by someone else). */
  onLost: ((reason: string) => void) | undefined;

  constructor(
    private readonly fs: FuseFilesystem,
    private readonly opts: FuseSessionOptions,
  ) {}

  get mountpoint(): string {
    return this.opts.mountpoint;
  }

  /** The transport requests came on: 'uring' or 'devfuse' (known once mounted). */
  transportInUse: 'uring' | 'devfuse' = 'devfuse';

  async mount(): Promise<void> {
    const log = this.opts.log;
    this.fd = openFuseDevice();
    const fd = this.fd;
    const replyFailed: ReplyFailure = (err) => log.warn({ err }, 'reply write failed');
    const sink = (buf: Buffer) => {
      if (!this.queues?.route(buf)) sendReply(fd, buf, undefined, replyFailed);
    };
    this.core = new FuseSessionCore(this.fs, sink, log.child({ subsys: 'fuse' }));
    const exits: Promise<void>[] = [];
    const transport = this.opts.transport ?? DEFAULT_TRANSPORT;
    if (transport !== 'devfuse') {
      const started = await UringQueues.start({
        fuseFd: fd,
        tables: this.core.handles.buffers,
        classifier: this.fs.dataPath?.classifier,
        log,
        dispatch: (buf) => this.core.dispatch(buf),
        report: (msg) => this.readerReport(msg),
        testFailSetup: this.opts.uringTestUnavailable === 'setup',
      });
      if ('failed' in started) {
        if (transport === 'uring') {
          this.finish();
          throw new Error(`--transport uring: cannot set up io_uring: ${started.failed}`);
        }
        log.info({ reason: started.failed }, 'FUSE over io_uring not available (io_uring setup failed); using /dev/fuse');
      } else {
        this.queues = started;
        this.core.uringWanted = true;
        this.core.uringOfferIgnored = this.opts.uringTestUnavailable === 'init';
        exits.push(started.exited);
      }
    }
    const initialized = new Promise<void>((res) =>
      this.core.whenInitialized(() => {
        // INIT is answered: the rings register now, or are not used at all
        if (this.core.overUring) {
          this.transportInUse = 'uring';
          this.queues!.register();
        } else this.queues?.leave();
        res();
      }),
    );
    const count = this.opts.readers ?? DEFAULT_READERS;
    const startReader = (i: number): Promise<void> =>
      new Promise((res) => {
        const inflight = new Int32Array(new SharedArrayBuffer(INFLIGHT_WORDS * 4));
        const data: ReaderData = { fd, tables: this.core.handles.buffers, inflight: inflight.buffer as SharedArrayBuffer, classifier: this.fs.dataPath?.classifier, testHook: this.opts.readerTestHook };
        const w = new Worker(new URL('./reader-worker.js', import.meta.url), { workerData: data });
        let finished = false;
        w.on('message', (msg: ReaderMessage) => {
          if (msg instanceof Uint8Array) this.core.dispatch(Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
          else if (msg.type === 'failed' || msg.type === 'reply-failed') this.readerReport(msg, i);
          else {
            finished = true;
            log.debug({ reader: i, code: msg.code }, 'reader finished');
          }
        });
        w.on('error', (err) => log.error({ err, reader: i }, 'reader failed'));
        w.on('exit', () => {
          this.readers.splice(this.readers.indexOf(w), 1);
          // A reader that died on its own took a request with it (its caller waits
          // until the mount goes); keep serving everyone else with a new reader.
          if (!finished && !this.unmounting && this.fd >= 0) {
            log.error({ reader: i }, 'reader died unexpectedly; starting another');
            // answer what it held with EIO, so its caller does not wait forever
            if (Atomics.load(inflight, INFLIGHT_BUSY) === 1 && !NO_REPLY.has(inflight[INFLIGHT_OPCODE]!)) {
              const reply = Buffer.alloc(OUT_HEADER_SIZE);
              writeOutHeader(reply, OUT_HEADER_SIZE, ERRNO.EIO, Buffer.from(inflight.buffer, INFLIGHT_UNIQUE * 4, 8), 0);
              sendReply(fd, reply, undefined, replyFailed);
            }
            startReader(i).then(res);
          } else res();
        });
        this.readers.push(w);
      });
    for (let i = 0; i < count; i++) exits.push(startReader(i));
    this.exited = Promise.all(exits).then(() => this.finish());
    this.notifier = new Worker(new URL('./notify-worker.js', import.meta.url), { workerData: { fd } });
    this.notifier.on('message', (m: { id: number; error?: string }) => {
      this.pendingNotify.get(m.id)?.(m.error);
      this.pendingNotify.delete(m.id);
    });
    this.notifier.unref();
    try {
      await mountFuse(fd, { mountpoint: this.opts.mountpoint, fsname: this.opts.fsname, allowOther: this.opts.allowOther ?? true });
    } catch (err) {
      await this.terminateWorkers();
      throw err;
    }
    await initialized;
    if (transport !== 'devfuse' && !this.core.overUring) {
      const why = this.queues ? 'the kernel did not offer FUSE_OVER_IO_URING in INIT (fuse module parameter enable_uring off, or a kernel before 6.14)' : undefined;
      if (transport === 'uring' && why) {
        await this.unmount();
        throw new Error(`--transport uring: ${why}`);
      }
      if (why) log.info(`FUSE over io_uring not available: ${why}; using /dev/fuse`);
      this.queues = undefined;
    } else if (this.core.overUring) log.info({ queues: this.queues!.count }, 'serving FUSE over io_uring');
    await tuneBdi(this.opts.mountpoint, BDI_TUNING).catch((err) => log.debug({ err }, 'cannot tune the bdi'));
    this.exited.then(() => {
      if (!this.unmounting) this.onLost?.('the kernel closed the connection (unmounted or aborted)');
    });
  }

  /**
   * Unmounts and waits until every reader has left /dev/fuse. A busy mount is
   * detached lazily and served until its last open file is closed (the kernel
   * then ends the connection); `onBusy` hears about it first.
   */
  async unmount(onBusy?: () => void): Promise<void> {
    if (this.fd < 0) return;
    this.unmounting = true;
    let how: 'unmounted' | 'detached' | 'failed' = 'failed';
    try {
      how = await unmountFuse(this.opts.mountpoint);
      this.opts.log.debug({ mountpoint: this.opts.mountpoint, how }, 'unmounted');
    } catch (err) {
      this.opts.log.warn({ err }, 'unmount failed; closing the connection');
    }
    if (how === 'detached') {
      // readers keep serving the files still open; terminating them would strand those callers
      onBusy?.();
      await this.exited;
      return;
    }
    const timeout = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 5000).unref());
    if ((await Promise.race([this.exited, timeout])) === 'timeout') {
      this.opts.log.warn('readers still blocked on /dev/fuse 5 s after unmount; terminating them');
      await this.terminateWorkers();
    }
  }

  /** Handler bugs answered EIO so far: the total and each distinct one (op, path, message) with its count. */
  get handlerBugs(): { total: number; bugs: HandlerBug[] } {
    return { total: this.core.bugCount, bugs: [...this.core.bugs.values()] };
  }

  /** Resolves when the connection is gone (after unmount, or when the kernel aborts it). */
  get closed(): Promise<void> {
    return this.exited;
  }

  /** A data-path failure or a refused reply, reported by a reader or an io_uring queue. */
  private readerReport(msg: Exclude<ReaderMessage, Uint8Array>, reader?: number): void {
    if (msg.type === 'failed') this.core.handlerFailed(msg.op, msg.nodeid, new Error(msg.message));
    else if (msg.type === 'reply-failed') this.opts.log.warn({ reader, op: OPCODE_NAMES[msg.op] ?? msg.op, code: msg.code, err: msg.message }, 'reply write failed');
  }

  private async terminateWorkers(): Promise<void> {
    // Workers blocked in read() cannot be terminated cleanly; the process exit ends them.
    await Promise.all(this.readers.map((w) => w.terminate().catch(() => undefined)));
    await this.queues?.terminate();
    this.finish();
  }

  private finish(): void {
    if (this.notifier) void this.notifier.terminate();
    this.notifier = undefined;
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
  }

  private notify(buf: Buffer): Promise<void> {
    if (!this.notifier) return Promise.reject(new Error('session not mounted'));
    const id = this.notifySeq++;
    return new Promise((res, rej) => {
      this.pendingNotify.set(id, (error) => (error ? rej(Object.assign(new Error(`notify failed: ${error}`), { code: error })) : res()));
      this.notifier!.postMessage({ id, buf: new Uint8Array(buf) });
    });
  }

  /** The readers stop serving an open file from its backing: its next reads and writes reach the filesystem. */
  dropBacking(handle: unknown): void {
    this.core.handles.dropBackingOf(handle);
  }

  invalInode(nodeid: number, offset = 0, length = 0): Promise<void> {
    return this.notify(encodeInvalInode(nodeid, offset, length));
  }

  invalEntry(parent: number, name: string): Promise<void> {
    return this.notify(encodeInvalEntry(parent, name));
  }

  store(nodeid: number, offset: number, data: Buffer): Promise<void> {
    return this.notify(encodeStore(nodeid, offset, data));
  }

  /** Fetches the kernel's cached bytes of a node range (dirty pages included). */
  retrieve(nodeid: number, offset: number, size: number): Promise<{ offset: number; data: Buffer }> {
    const unique = this.notifySeq++;
    return new Promise((res, rej) => {
      this.core.expectRetrieve(unique, (off, data) => res({ offset: off, data }));
      this.notify(encodeRetrieve(unique, nodeid, offset, size)).catch(rej);
    });
  }
}
