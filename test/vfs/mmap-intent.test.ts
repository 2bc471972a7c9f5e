// The private mmap-intent ioctl (what run's supervisor asks before an mmap()),
// against the tree of the default topology without mounting: each file's mmap
// method decides as the kernel's would (native-notes/run.md).
import { ftruncateSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadTopology } from '../../src/config/index.js';
import { BarStore, BarView, createMemfd, type NamespaceImages } from '../../src/memory/index.js';
import { bootHostModel, DmaBufCore, hmmContext, NvmeIoPath } from '../../src/model/index.js';
import { buildHostTree, encodeMmapIntent, MAP_PRIVATE, MAP_SHARED, P2PEMU_IOC_MMAP_INTENT, walk, type MmapIntent } from '../../src/vfs/index.js';

/** The default topology's tree over memfds only (no state dir: no root needed). */
function makeHost() {
  const spec = loadTopology(undefined);
  const model = bootHostModel(spec);
  const bars = new BarStore();
  let id = 2_000_000;
  const namespaces: NamespaceImages = {
    open: (key, size) => {
      const fd = createMemfd(key);
      ftruncateSync(fd, size);
      return { id: id++, path: key, fd, size };
    },
    sync: () => undefined,
  };
  const dmabufs = new DmaBufCore(model.p2pdma, model.klog, spec.iommu);
  const tree = buildHostTree({ spec, model, io: new NvmeIoPath(model.p2pdma), dmabufs, hmm: hmmContext(model, false), bars, barView: new BarView(bars), namespaces });
  return { ...model, ...tree };
}
const host = makeHost();

const root = { pid: process.pid, uid: 0, gid: 0 };
const DEV = '/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:04:00.0';

/** Opens a file of the tree (a fresh node for allocate, as a LOOKUP gives) and asks about one mmap of it. */
function open(path: string, flags = 2) {
  const parent = walk(host.table, path.slice(0, path.lastIndexOf('/')))!;
  const entry = host.vfs.lookup(parent.ino, path.slice(path.lastIndexOf('/') + 1), root);
  const intent = host.vfs.open(entry.nodeid, flags, root);
  const mmap = (i: Partial<MmapIntent>, caller = root) =>
    host.vfs.ioctl(entry.nodeid, intent.handle, { cmd: P2PEMU_IOC_MMAP_INTENT, arg: 0n, input: encodeMmapIntent({ len: 1 << 20, pgoff: 0, prot: 3, flags: MAP_SHARED, addr: undefined, pid: process.pid, ...i }), outSize: 0, unrestricted: false }, caller);
  return { mmap, release: () => host.vfs.release(entry.nodeid, intent.handle) };
}
const available = () => host.p2pdma.allProviders().find((p) => p.dev.bdf === '0000:04:00.0')!.pool.avail;
const errnoOf = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('mmap intents', () => {
  test('allocate: the mapping is allocated at once; a second mmap of the same open takes nothing more; close gives it back', () => {
    const before = available();
    const f = open(`${DEV}/p2pmem/allocate`);
    expect(errnoOf(() => f.mmap({}))).toBe('ok');
    expect(before - available()).toBe(1 << 20);
    expect(errnoOf(() => f.mmap({ len: 2 << 20 }))).toBe('ok');
    expect(before - available()).toBe(1 << 20);
    f.release();
    expect(available()).toBe(before);
  });

  test("allocate refuses as p2pmem_alloc_mmap() does, in its order: private before offset, ENOMEM when the pool can't hold it", () => {
    const f = open(`${DEV}/p2pmem/allocate`);
    expect(errnoOf(() => f.mmap({ flags: MAP_PRIVATE, pgoff: 1 }))).toBe('EINVAL');
    expect(host.klog.all().at(-1)?.text).toMatch(/attempted private mapping$/);
    expect(errnoOf(() => f.mmap({ pgoff: 1 }))).toBe('EINVAL');
    expect(errnoOf(() => f.mmap({ len: available() + 4096 }))).toBe('ENOMEM');
    // refusals leave the open file usable for a good mapping
    expect(errnoOf(() => f.mmap({}))).toBe('ok');
    f.release();
  });

  test('only root may ask (the run supervisor runs as root)', () => {
    const f = open(`${DEV}/p2pmem/allocate`);
    expect(errnoOf(() => f.mmap({}, { pid: process.pid, uid: 1000, gid: 1000 }))).toBe('EPERM');
    f.release();
  });

  test('resourceN and resourceN_wc: the pages must fit the BAR; a text attribute and config have no mmap', () => {
    const bar = host.pci.find('0000:04:00.0')!.bars.find((b) => b.index === 2)!;
    for (const name of ['resource2', 'resource2_wc']) {
      const f = open(`${DEV}/${name}`);
      expect(errnoOf(() => f.mmap({ len: bar.size }))).toBe('ok');
      expect(errnoOf(() => f.mmap({ len: bar.size + 4096 }))).toBe('EINVAL');
      expect(errnoOf(() => f.mmap({ len: 4096, pgoff: bar.size / 4096 }))).toBe('EINVAL');
    }
    expect(errnoOf(() => open(`${DEV}/config`).mmap({ len: 4096 }))).toBe('ENODEV');
    expect(errnoOf(() => open(`${DEV}/vendor`, 0).mmap({ len: 4096 }))).toBe('ENODEV');
  });

  test('resourceN_wc is listed under its own name next to resourceN', () => {
    const dir = walk(host.table, DEV)!;
    const names = host.vfs.readdir(dir.ino).map((e) => e.name);
    expect(names.filter((n) => n.startsWith('resource2'))).toEqual(['resource2', 'resource2_wc']);
  });
});
