// A store that changes the tree (remove, unbind, rescan) answers once the
// kernel has forgotten the names it changed, so `echo 1 > remove` returns with
// the directory gone, as on a real kernel.
import { expect, test } from 'vitest';
import { InodeTable, Vfs } from '../../src/vfs/index.js';

test('a store that removed a node answers only after the kernel forgot its name', async () => {
  const t = new InodeTable();
  const dev = t.dir(t.root, '0000:06:00.0');
  const vfs = new Vfs(t);
  let forget: (() => void) | undefined;
  const forgotten: string[] = [];
  vfs.connect({
    device: '00:2a',
    invalidateEntry: (_parent, name) => new Promise<void>((res) => (forget = () => (forgotten.push(name), res()))),
    invalidateInode: async () => undefined,
    stopServing: () => undefined,
  });
  const remove = t.text(dev, 'remove', 0o200, undefined, () => vfs.remove(dev));
  const answered = vfs.write(remove.ino, { node: remove }, 0, Buffer.from('1'), { pid: 1, uid: 0, gid: 0 }, 0) as Promise<number>;
  let done = false;
  void answered.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  expect(done).toBe(false);
  forget!();
  expect(await answered).toBe(1);
  expect(forgotten).toEqual(['0000:06:00.0']);
});

test('a store that changed nothing answers at once, without a promise', () => {
  const t = new InodeTable();
  const vfs = new Vfs(t);
  const attr = t.text(t.root, 'd3cold_allowed', 0o644, () => '1\n', () => undefined);
  expect(vfs.write(attr.ino, { node: attr }, 0, Buffer.from('0'), { pid: 1, uid: 0, gid: 0 }, 0)).toBe(1);
});
