// The session's notify messages against a real mount: this test process is the
// daemon (a tiny tree with one backed file) and a python process maps the file.
// Everything here is asynchronous: the daemon must never block on its own mount.

import { spawn } from 'node:child_process';
import { readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { canMount, describeMount } from './helpers.js';
import { mountInProcess, type InProcessMount } from './in-process-mount.js';

const SIZE = 64 * 1024;
let m: InProcessMount;
let mnt: string;
let session: InProcessMount['session'];
let backingFd: number;
let fileIno: number;

beforeAll(async () => {
  if (!canMount()) return;
  m = await mountInProcess(SIZE, ({ table, backing }) => {
    fileIno = table.bin(table.root, { name: 'data', mode: 0o600, size: SIZE, backing }).ino;
  });
  ({ mnt, session, backingFd } = m);
});

afterAll(async () => {
  if (canMount()) await m?.unmount();
});

/** A python process that maps the file and runs one command per stdin line, answering one line each. */
function mapper() {
  const py = spawn('python3', [
    '-u',
    '-c',
    `
import mmap, os, sys
m = mmap.mmap(os.open(sys.argv[1], os.O_RDWR), ${SIZE}, mmap.MAP_SHARED)
print(bytes(m[0:1]).hex(), flush=True)
for line in sys.stdin:
    cmd, off, arg = line.split()
    off = int(off)
    if cmd == 'read':
        print(bytes(m[off:off + int(arg)]).decode(errors='replace'), flush=True)
    else:
        m[off:off + len(arg)] = arg.encode()
        print('ok', flush=True)
`,
    join(mnt, 'data'),
  ]);
  const lines: string[] = [];
  let waiting: ((l: string) => void) | undefined;
  let buf = '';
  py.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(l);
      } else lines.push(l);
    }
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise<string>((r) => (waiting = r)));
  return {
    next,
    ask: (cmd: string) => {
      py.stdin.write(cmd + '\n');
      return next();
    },
    end: () => new Promise<void>((r) => {
      py.on('exit', () => r());
      py.stdin.end();
    }),
  };
}

function backing(offset: number, len: number): string {
  const b = Buffer.alloc(len);
  readSync(backingFd, b, 0, len, offset);
  return b.toString('latin1');
}

describeMount('FUSE notifications on a live mount', () => {
  test('STORE puts bytes into the page cache: a process mapping the file sees them, the backing file does not', async () => {
    const p = mapper();
    expect(await p.next()).toBe('00'); // first touch faulted page 0 in
    await session.store(fileIno, 0, Buffer.from('stored!'));
    expect(await p.ask('read 0 7')).toBe('stored!');
    expect(backing(0, 7)).toBe('\0'.repeat(7));
    await p.end();
  });

  test('RETRIEVE returns dirty bytes a process wrote through its mapping', async () => {
    const p = mapper();
    await p.next();
    expect(await p.ask('write 4096 dirty-page')).toBe('ok');
    const got = await session.retrieve(fileIno, 4096, 4096);
    expect(got.offset).toBe(4096);
    expect(got.data.subarray(0, 10).toString()).toBe('dirty-page');
    await p.end();
  });

  test('INVAL_INODE writes dirty pages back and drops the cache, so the next read faults in the backing bytes', async () => {
    const p = mapper();
    await p.next();
    expect(await p.ask('write 8192 written-back')).toBe('ok');
    await session.invalInode(fileIno, 0, 0);
    expect(backing(8192, 12)).toBe('written-back');
    // the daemon changes the backing file; after another invalidation the mapping shows it
    writeSync(backingFd, Buffer.from('fresh'), 0, 5, 8192);
    await session.invalInode(fileIno, 0, 0);
    expect(await p.ask('read 8192 5')).toBe('fresh');
    await p.end();
  });

  test('INVAL_ENTRY for a cached name is accepted', async () => {
    await expect(session.invalEntry(1, 'data')).resolves.toBeUndefined();
  });
});
