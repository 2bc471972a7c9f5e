// A reader thread that dies while it holds a request (a crash in the data
// path, forced here by a test-only hook): its caller gets EIO instead of
// waiting until the mount goes, and a new reader takes its place. This test
// process is the daemon, so it drives the mount only through child processes
// it waits for asynchronously.

import { execFile } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { canMount, describeMount, mounted, sh, tempDir } from './helpers.js';
// the session starts worker threads from compiled files: use the build
import { FuseSession } from '../../dist/fuse/session.js';
import { InodeTable, Vfs } from '../../dist/vfs/index.js';

const run = promisify(execFile);
const SIZE = 16384;
const READERS = 2;
let session: FuseSession;
let mnt: string;
let dir: string;
let backingFd: number;
const logLines: string[] = [];

beforeAll(async () => {
  if (!canMount()) return;
  mnt = tempDir('p2pemu-reader-');
  dir = tempDir('p2pemu-reader-backing-');
  backingFd = openSync(join(dir, 'backing'), 'w+');
  ftruncateSync(backingFd, SIZE);
  writeSync(backingFd, Buffer.from('hello from the backing file'), 0, 27, 0);
  const table = new InodeTable();
  const backing = () => ({ id: 1, fd: backingFd, offset: 0, size: SIZE, writable: true });
  table.bin(table.root, { name: 'data', mode: 0o644, size: SIZE, backing });
  const poison = table.bin(table.root, { name: 'poison', mode: 0o644, size: SIZE, backing });
  const log = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));
  session = new FuseSession(new Vfs(table), { mountpoint: mnt, fsname: 'p2pemu-test', readers: READERS, log, readerTestHook: { dieOnReadOf: poison.ino } });
  await session.mount();
});

afterAll(async () => {
  if (!canMount()) return;
  await session.unmount();
  if (mounted(mnt)) sh(`umount -l '${mnt}'`);
  closeSync(backingFd);
  rmSync(dir, { recursive: true, force: true });
  rmSync(mnt, { recursive: true, force: true });
});

/** cat with a time bound: the exit code and stderr of a read that fails, or its bytes. */
async function cat(file: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run('timeout', ['20', 'cat', join(mnt, file)], { encoding: 'latin1' });
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, out: e.stderr };
  }
}

describeMount('a reader thread that dies mid-request', () => {
  test(`its caller gets EIO; ${READERS + 1} deaths in a row with ${READERS} readers still leave the mount serving`, async () => {
    for (let i = 0; i < READERS + 1; i++) {
      const r = await cat('poison');
      expect(r.code).toBe(1); // cat's own exit code, not timeout's 124: answered, not hung
      expect(r.out).toMatch(/Input\/output error/);
    }
    const ok = await cat('data');
    expect([ok.code, ok.out.slice(0, 27)]).toEqual([0, 'hello from the backing file']);
    // the page cache may ask again after a failed read: at least one death per cat
    expect(logLines.filter((l) => l.includes('reader died unexpectedly')).length).toBeGreaterThanOrEqual(READERS + 1);
  });
});
