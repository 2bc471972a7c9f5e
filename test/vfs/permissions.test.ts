// kernfs open rules, whoever asks: a file without store() cannot be opened for
// write, one without show() cannot be opened for read, and the mode bits gate
// both; the tree's shape and owners cannot be changed.
import { describe, expect, test } from 'vitest';
import { InodeTable, Vfs } from '../../src/vfs/index.js';

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const root = { pid: 1, uid: 0, gid: 0 };

function tree() {
  const t = new InodeTable();
  const dir = t.dir(t.root, 'dev0');
  const nodes = {
    dir,
    ro: t.text(dir, 'vendor', 0o444, () => '0x144d\n'),
    rw: t.text(dir, 'numa_node', 0o644, () => '0\n', () => {}),
    wo: t.text(dir, 'remove', 0o200, undefined, () => {}),
    // a store() behind read-only mode bits: the mode wins
    roWithStore: t.text(dir, 'locked', 0o444, () => '1\n', () => {}),
    bin: t.bin(dir, { name: 'config', mode: 0o644, size: 64, read: () => Buffer.alloc(4) }),
    link: t.symlink(dir, 'subsystem', '../../bus/pci'),
  };
  return { vfs: new Vfs(t), ...nodes };
}

const errno = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('opening attributes', () => {
  test.each([
    ['a read-only attribute', 'ro', O_RDONLY, 'ok'],
    ['a read-only attribute for write', 'ro', O_WRONLY, 'EACCES'],
    ['a read-only attribute for read and write', 'ro', O_RDWR, 'EACCES'],
    ['a read-write attribute for read and write', 'rw', O_RDWR, 'ok'],
    ['a write-only attribute for write', 'wo', O_WRONLY, 'ok'],
    ['a write-only attribute for read', 'wo', O_RDONLY, 'EACCES'],
    ['mode 0444 with a store() for write', 'roWithStore', O_WRONLY, 'EACCES'],
    ['a binary attribute without write() for write', 'bin', O_WRONLY, 'EACCES'],
    ['a binary attribute for read', 'bin', O_RDONLY, 'ok'],
    ['a directory', 'dir', O_RDONLY, 'EISDIR'],
    ['a symlink', 'link', O_RDONLY, 'ELOOP'],
  ] as const)('%s: %s', (_what, node, flags, want) => {
    const t = tree();
    expect(errno(() => t.vfs.open(t[node].ino, flags, root))).toBe(want);
  });
});

describe('what cannot change', () => {
  test('truncating an attribute is accepted and changes nothing', () => {
    const t = tree();
    expect(t.vfs.setattr(t.rw.ino, { size: 0 }, root).attr.size).toBe(4096);
  });
});

describe('chmod and chown (kernfs_setattr keeps them on the node)', () => {
  test('a new mode and owner are kept, and the mode then gates opens', () => {
    const t = tree();
    const a = t.vfs.setattr(t.ro.ino, { mode: 0o666, uid: 1000, gid: 100 }, root).attr;
    expect([a.mode & 0o7777, a.uid, a.gid]).toEqual([0o666, 1000, 100]);
    expect(t.vfs.getattr(t.ro.ino).attr.uid).toBe(1000);
    // writable bits now, but still no store(): kernfs refuses the write open
    expect(errno(() => t.vfs.open(t.ro.ino, O_WRONLY, root))).toBe('EACCES');
    t.vfs.setattr(t.rw.ino, { mode: 0o444 }, root);
    expect(errno(() => t.vfs.open(t.rw.ino, O_WRONLY, root))).toBe('EACCES');
  });

  test('a symlink keeps mode 0777 but takes an owner', () => {
    const t = tree();
    const a = t.vfs.setattr(t.link.ino, { mode: 0o600, uid: 7 }, root).attr;
    expect([a.mode & 0o777, a.uid]).toEqual([0o777, 7]);
  });
});

describe('seq files', () => {

  test('a text attribute reads like a seq_file: show() once per open, at most one page', () => {
    const t = new InodeTable();
    let shows = 0;
    const big = t.text(t.root, 'big', 0o444, () => `${++shows}`.padEnd(10000, 'x'));
    const vfs = new Vfs(t);
    const h = vfs.open(big.ino, O_RDONLY, root).handle;
    const first = vfs.read(big.ino, h, 0, 100, root) as Buffer;
    const rest = vfs.read(big.ino, h, 100, 10000, root) as Buffer;
    expect([first.length + rest.length, shows, first.subarray(0, 1).toString()]).toEqual([4096, 1, '1']);
  });
});
