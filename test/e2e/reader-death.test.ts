// A reader thread that dies while it holds a request (a crash in the data
// path, forced here by a test-only hook): its caller gets EIO instead of
// waiting until the mount goes, and a new reader takes its place. This test
// process is the daemon, so it drives the mount only through child processes
// it waits for asynchronously.

import { execFile } from 'node:child_process';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { canMount, describeMount } from './helpers.js';
import { mountInProcess, type InProcessMount } from './in-process-mount.js';

const run = promisify(execFile);
const SIZE = 16384;
const READERS = 2;
let m: InProcessMount;
const logLines: string[] = [];

beforeAll(async () => {
  if (!canMount()) return;
  const log = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));
  m = await mountInProcess(
    SIZE,
    ({ table, backingFd, backing }) => {
      writeSync(backingFd, Buffer.from('hello from the backing file'), 0, 27, 0);
      table.bin(table.root, { name: 'data', mode: 0o644, size: SIZE, backing });
      const poison = table.bin(table.root, { name: 'poison', mode: 0o644, size: SIZE, backing });
      return { readerTestHook: { dieOnReadOf: poison.ino } };
    },
    { readers: READERS, log },
  );
});

afterAll(async () => {
  if (canMount()) await m?.unmount();
});

/** cat with a time bound: the exit code and stderr of a read that fails, or its bytes. */
async function cat(file: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run('timeout', ['20', 'cat', join(m.mnt, file)], { encoding: 'latin1' });
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
