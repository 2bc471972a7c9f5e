// A disk's sysfs directory as block/genhd.c and block/blk-sysfs.c lay it out
// (compared with a 6.18 kernel's /sys/block/vda): the gendisk attributes,
// holders/ and slaves/, power/, and the queue/ limits the NVMe driver sets.

import { kernelError } from '../../errno.js';
import type { DirNode } from '../node.js';
import type { InodeTable } from '../tree.js';
import { cString, kstrtollOrEinval, kstrtoulOrEinval } from './kstrto.js';
import { addPowerDir } from './pci-device-extras.js';
import { ueventWrite } from './synth-uevent.js';

export const BLOCK_EXT_MAJOR = 259;
const SECTOR = 512;
/** NVMe disks are allocated without minors of their own: partitions come from the extended range */
const DISK_MAX_PARTS = 256;

export interface DiskIo {
  reads: number;
  sectorsRead: number;
  writes: number;
  sectorsWritten: number;
}

export interface DiskSpec {
  name: string;
  minor: number;
  size: number;
  lbaSize: number;
  diskseq: number;
  /** hardware limits the driver derived from MDTS, ONCS, VWC and the queue depth */
  maxHwSectorsKb: number;
  nrRequests: number;
  io: () => DiskIo;
  mountedAt: number;
}

// kernel: part_stat_show(), block/genhd.c: 17 fields, "%8lu" and friends
export function diskStatText(io: DiskIo): string {
  const f = [io.reads, 0, io.sectorsRead, 0, io.writes, 0, io.sectorsWritten, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return f.map((v) => String(v).padStart(8)).join(' ') + '\n';
}

/** The gendisk attributes (disk_attrs in block/genhd.c), holders/, slaves/ and power/ of one disk directory. */
export function addGendiskAttrs(t: InodeTable, d: DirNode, disk: DiskSpec): void {
  const ro = (name: string, show: () => string) => t.text(d, name, 0o444, show);
  ro('dev', () => `${BLOCK_EXT_MAJOR}:${disk.minor}\n`);
  t.text(d, 'uevent', 0o644, () => `MAJOR=${BLOCK_EXT_MAJOR}\nMINOR=${disk.minor}\nDEVNAME=${disk.name}\nDEVTYPE=disk\nDISKSEQ=${disk.diskseq}\n`, ueventWrite);
  // kernel: disk_range_show(), disk_ext_range_show(): no minors of its own, 256 in the extended range
  ro('range', () => '0\n');
  ro('ext_range', () => `${DISK_MAX_PARTS}\n`);
  ro('removable', () => '0\n');
  ro('hidden', () => '0\n');
  ro('ro', () => '0\n');
  ro('size', () => `${disk.size / SECTOR}\n`);
  ro('alignment_offset', () => '0\n');
  ro('discard_alignment', () => '0\n');
  // kernel: disk_capability_show(): deprecated, always 0
  ro('capability', () => '0\n');
  ro('stat', () => diskStatText(disk.io()));
  ro('inflight', () => `${'0'.padStart(8)} ${'0'.padStart(8)}\n`);
  ro('events', () => '\n');
  ro('events_async', () => '\n');
  // kernel: disk_events_poll_msecs_store(), block/disk-events.c: a number of -1 or more, then ENODEV for a disk without events (NVMe)
  t.text(d, 'events_poll_msecs', 0o644, () => '-1\n', (text) => {
    const m = /^\s*[+-]?\d+/.exec(cString(text));
    if (!m || Number(m[0]) < -1) throw kernelError('EINVAL', 'events_poll_msecs takes -1 or more');
    throw kernelError('ENODEV', `${disk.name} has no media events`);
  });
  ro('diskseq', () => `${disk.diskseq}\n`);
  ro('partscan', () => '1\n');
  t.dir(d, 'holders');
  t.dir(d, 'slaves');
  addPowerDir(t, d, disk.mountedAt);
  addQueueDir(t, t.dir(d, 'queue'), disk);
}

// kernel: queue_attrs and the blk_mq attrs, block/blk-sysfs.c: the full set a 6.18 kernel shows for an NVMe namespace
function addQueueDir(t: InodeTable, q: DirNode, disk: DiskSpec): void {
  const lbs = disk.lbaSize;
  const maxBytesWriteZeroes = disk.maxHwSectorsKb * 1024;
  const files: [string, number, string][] = [
    ['add_random', 0o644, '0'],
    ['atomic_write_boundary_bytes', 0o444, '0'],
    ['atomic_write_max_bytes', 0o444, String(lbs)],
    ['atomic_write_unit_max_bytes', 0o444, String(lbs)],
    ['atomic_write_unit_min_bytes', 0o444, String(lbs)],
    ['chunk_sectors', 0o444, '0'],
    ['dax', 0o444, '0'],
    ['discard_granularity', 0o444, String(lbs)],
    ['discard_max_bytes', 0o644, '2199023255040'],
    ['discard_max_hw_bytes', 0o444, '2199023255040'],
    ['discard_zeroes_data', 0o444, '0'],
    ['dma_alignment', 0o444, '3'],
    ['fua', 0o444, '1'],
    ['hw_sector_size', 0o444, String(lbs)],
    ['io_poll', 0o644, '0'],
    ['io_poll_delay', 0o644, '-1'],
    ['iostats', 0o644, '1'],
    ['iostats_passthrough', 0o644, '0'],
    ['logical_block_size', 0o444, String(lbs)],
    ['max_discard_segments', 0o444, '256'],
    ['max_hw_sectors_kb', 0o444, String(disk.maxHwSectorsKb)],
    ['max_integrity_segments', 0o444, '1'],
    ['max_sectors_kb', 0o644, String(Math.min(disk.maxHwSectorsKb, 1280))],
    ['max_segment_size', 0o444, '4294967295'],
    ['max_segments', 0o444, '128'],
    ['max_write_streams', 0o644, '0'],
    ['minimum_io_size', 0o444, String(lbs)],
    ['nomerges', 0o644, '0'],
    ['nr_requests', 0o644, String(disk.nrRequests)],
    ['nr_zones', 0o444, '0'],
    ['optimal_io_size', 0o444, '0'],
    ['physical_block_size', 0o444, String(lbs)],
    ['read_ahead_kb', 0o644, '128'],
    ['rotational', 0o644, '0'],
    ['rq_affinity', 0o644, '1'],
    ['scheduler', 0o644, '[none] mq-deadline kyber bfq'],
    ['stable_writes', 0o644, '0'],
    ['virt_boundary_mask', 0o444, '4095'],
    ['wbt_lat_usec', 0o644, '0'],
    ['write_cache', 0o644, 'write back'],
    ['write_same_max_bytes', 0o444, '0'],
    ['write_stream_granularity', 0o444, '0'],
    ['write_zeroes_max_bytes', 0o444, String(maxBytesWriteZeroes)],
    ['write_zeroes_unmap_max_bytes', 0o644, '0'],
    ['write_zeroes_unmap_max_hw_bytes', 0o444, '0'],
    ['zone_append_max_bytes', 0o444, '0'],
    ['zone_write_granularity', 0o444, '0'],
    ['zoned', 0o444, 'none'],
  ];
  for (const [name, mode, initial] of files) {
    let value = initial;
    t.text(q, name, mode, () => `${value}\n`, mode & 0o200 ? (text) => void (value = queueStore(name, value, text)) : undefined);
  }
}

const SCHEDULERS = ['none', 'mq-deadline', 'kyber', 'bfq'];

/** What a write to a writable queue attribute leaves: numbers parsed as the kernel's store does, the scheduler and cache mode by name. */
function queueStore(name: string, current: string, text: string): string {
  const v = text.trim();
  if (name === 'scheduler') {
    if (!SCHEDULERS.includes(v)) throw kernelError('EINVAL', `no I/O scheduler ${v}`);
    return SCHEDULERS.map((s) => (s === v ? `[${s}]` : s)).join(' ');
  }
  if (name === 'write_cache') {
    if (v !== 'write back' && v !== 'write through') throw kernelError('EINVAL', 'write back or write through');
    return v;
  }
  if (name === 'discard_max_bytes' || name === 'max_write_streams' || name === 'write_zeroes_unmap_max_bytes') return current;
  // kernel: queue_var_store(): kstrtoul base 10, at most UINT_MAX, else EINVAL; wbt_lat_usec and io_poll_delay are signed
  if (name === 'wbt_lat_usec' || name === 'io_poll_delay') {
    const signed = kstrtollOrEinval(text, 10);
    if (signed < -1) throw kernelError('EINVAL', `${name} takes -1 or more`);
    return String(signed);
  }
  const n = kstrtoulOrEinval(text, 10);
  if (n > 0xffff_ffff) throw kernelError('EINVAL', `${name} takes at most ${0xffff_ffff}`);
  return String(n);
}
