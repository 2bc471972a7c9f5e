// MNT/sys/kernel/debug/p2pemu/: what the emulated kernel holds, for humans
// and tests. An invention of the emulator (no such debugfs exists upstream);
// the formats are documented in native-notes/p2pdma.md.

import { kernelError } from '../../errno.js';
import type { BarView } from '../../memory/index.js';
import { MAP_TYPE_NAMES, type P2pdmaSubsystem } from '../../model/index.js';
import type { PciHost } from '../../model/index.js';
import { transfersTable, type TransferStats } from '../../model/index.js';
import { table } from '../../model/index.js';
import { foliosText } from '../../model/index.js';
import { CommandFile, commandNumber, type CommandHandler } from '../command-file.js';
import type { InodeTable } from '../tree.js';
import { p2pemuDebugDir } from './root.js';

const hex = (n: number) => `0x${n.toString(16)}`;
/** the most one `dma read` returns (as hex, twice as many characters) */
const DMA_READ_MAX = 1 << 20;

export function allocationsText(p2pdma: P2pdmaSubsystem): string {
  const rows: (string | number)[][] = [['id', 'provider', 'bar', 'bar_offset', 'bus_addr', 'size', 'pid', 'comm', 'state']];
  for (const a of p2pdma.allocations.values()) {
    rows.push([a.id, a.provider.dev.bdf, a.bar, hex(a.barOffset), hex(a.busAddr), a.size, a.owner.pid, a.owner.comm, a.revoked ? 'revoked' : 'mapped']);
  }
  return table(rows);
}

export function poolsText(p2pdma: P2pdmaSubsystem): string {
  const rows: (string | number)[][] = [['provider', 'size', 'available', 'published', 'chunks', 'free_extents', 'pgmap_refs']];
  for (const p of p2pdma.allProviders()) {
    const extents = p.pool.chunks.reduce((n, c) => n + c.free.length, 0);
    const refs = p.pgmaps.reduce((n, m) => n + m.refs, 0);
    rows.push([p.dev.bdf, p.pool.size, p.pool.avail, p.published ? 1 : 0, p.pool.chunks.length, extents, refs]);
  }
  return table(rows);
}

export function mapTypesText(p2pdma: P2pdmaSubsystem, host: PciHost): string {
  const rows: (string | number)[][] = [['provider', 'client', 'map_type']];
  const byKey = new Map(host.devices.map((d) => [d.domain * 65536 + d.bus * 256 + d.devfn, d.bdf]));
  for (const p of p2pdma.allProviders()) {
    for (const [key, type] of p.mapTypes) rows.push([p.dev.bdf, byKey.get(key) ?? hex(key), MAP_TYPE_NAMES[type]]);
  }
  return table(rows);
}

export function countersText(p2pdma: P2pdmaSubsystem): string {
  const rows: (string | number)[][] = [['provider', 'allocations', 'frees', 'bytes_allocated', 'failed_private', 'failed_offset', 'failed_nomem', 'failed_nodev']];
  for (const p of p2pdma.allProviders()) {
    const c = p.counters;
    rows.push([p.dev.bdf, c.allocations, c.frees, c.bytesAllocated, c.failedPrivate, c.failedOffset, c.failedNoMemory, c.failedNoDevice]);
  }
  return table(rows);
}

/**
 * The `dma` control: the device side of BAR memory. Write
 * "write BDF BAR OFFSET HEX" or "read BDF BAR OFFSET LEN"; reading the same open
 * file returns the result (hex bytes of a read, "ok" of a write).
 */
function dmaCommand(host: PciHost, view: BarView): CommandHandler {
  return async (command) => {
    const [op, id, barText, offText, arg, extra] = command.split(/\s+/);
    if (op !== 'read' && op !== 'write') throw kernelError('EINVAL', 'commands: read BDF BAR OFFSET LEN | write BDF BAR OFFSET HEX');
    const dev = id ? host.find(id) : undefined;
    if (!dev) throw kernelError('ENODEV', `no device ${id}`);
    const bar = dev.bars.find((b) => b.index === commandNumber(barText));
    if (!bar) throw kernelError('EINVAL', `${dev.bdf} has no BAR ${barText}`);
    const offset = commandNumber(offText);
    if (Number.isNaN(offset) || extra !== undefined) throw kernelError('EINVAL', 'bad offset or extra arguments');
    if (op === 'read') {
      const len = commandNumber(arg);
      if (!(len > 0) || offset + len > bar.size || len > DMA_READ_MAX) throw kernelError('EINVAL', 'bad length');
      return (await view.read(dev.bdf, bar.index, bar.size, offset, len)).toString('hex');
    }
    if (!arg || !/^([0-9a-f]{2})+$/i.test(arg)) throw kernelError('EINVAL', 'data must be hex bytes');
    const bytes = Buffer.from(arg, 'hex');
    if (offset + bytes.length > bar.size) throw kernelError('EINVAL', 'write beyond the BAR');
    await view.write(dev.bdf, bar.index, bar.size, offset, bytes);
    return 'ok';
  };
}

export function buildDebugfs(t: InodeTable, host: PciHost, p2pdma: P2pdmaSubsystem, view: BarView, stats: TransferStats): void {
  const dir = p2pemuDebugDir(t);
  t.seqText(dir, 'transfers', 0o400, () => transfersTable(stats.all()));
  t.seqText(dir, 'folios', 0o400, () => foliosText(p2pdma));
  t.seqText(dir, 'allocations', 0o400, () => allocationsText(p2pdma));
  t.seqText(dir, 'pools', 0o400, () => poolsText(p2pdma));
  t.seqText(dir, 'map_types', 0o400, () => mapTypesText(p2pdma, host));
  t.seqText(dir, 'counters', 0o400, () => countersText(p2pdma));
  t.device(dir, {
    name: 'dma',
    mode: 0o600,
    direct: true,
    size: () => 0,
    openFile: () => new CommandFile(dmaCommand(host, view)),
  });
}
