// MNT/sys/kernel/debug/p2pemu/dmabuf (control) and dmabufs (state): dma-buf
// sharing of P2P memory driven from scripts (an invented interface;
// native-notes/dmabuf.md). Removing or unbinding an exporter revokes its buffers.
// An open of the control file holds what it exported and attached, as a
// process holds dma-buf fds: closing it detaches and puts them.
//
//   export BDF BYTES                     → "ok buf N"
//   attach BUF BDF static|dynamic|p2p    → "ok att N peer2peer 0|1 (reason)"
//   map ATT                              → "ok TARGET 0xADDR LEN"
//   detach ATT                           → "ok"
//   close BUF                            → "ok"   (a buffer this open exported)
//   revoke BDF                           → "ok revoked N attachments"

import { kernelError } from '../../errno.js';
import type { DmaBuf, DmaBufAttachment, DmaBufCore, ExporterFallback } from '../../model/index.js';
import type { PciDev, PciHost } from '../../model/index.js';
import { CommandFile, commandNumber } from '../command-file.js';
import type { InodeTable } from '../tree.js';
import { p2pemuDebugDir } from './root.js';

export interface DmabufNotes {
  /** move_notify calls each attachment received */
  notified: Map<DmaBufAttachment, number>;
  /** live attachments by id, for `map` and `detach` from any open */
  attachments: Map<number, DmaBufAttachment>;
}

interface Shared {
  core: DmaBufCore;
  host: PciHost;
  notes: DmabufNotes;
  fallbackOf: (dev: PciDev) => ExporterFallback;
}

/** One open of the control file and the buffers and attachments it holds. */
class DmabufControl {
  private readonly exported = new Set<DmaBuf>();
  private readonly attached = new Set<DmaBufAttachment>();

  constructor(private readonly s: Shared) {}

  private dev(id: string | undefined): PciDev {
    const d = id ? this.s.host.find(id) : undefined;
    if (!d) throw kernelError('ENODEV', `no device ${id}`);
    return d;
  }

  private attachment(id: string | undefined): DmaBufAttachment {
    const att = this.s.notes.attachments.get(commandNumber(id));
    if (!att) throw kernelError('ENOENT', `no attachment ${id}`);
    return att;
  }

  private detach(att: DmaBufAttachment): void {
    this.s.core.detach(att);
    this.s.notes.attachments.delete(att.id);
    this.s.notes.notified.delete(att);
    this.attached.delete(att);
  }

  run(command: string): string {
    const { core, notes } = this.s;
    const [cmd, a, b, c, extra] = command.split(/\s+/);
    if (extra !== undefined) throw kernelError('EINVAL', `too many arguments: ${command}`);
    switch (cmd) {
      case 'export': {
        const exporter = this.dev(a);
        const size = commandNumber(b);
        if (!Number.isSafeInteger(size) || size <= 0 || c !== undefined) throw kernelError('EINVAL', 'export BDF BYTES');
        const buf = core.export(exporter, size, this.s.fallbackOf(exporter));
        this.exported.add(buf);
        return `ok buf ${buf.id}`;
      }
      case 'attach': {
        const buf = core.bufs.find((x) => x.id === commandNumber(a));
        if (!buf) throw kernelError('ENOENT', `no dma-buf ${a}`);
        const mode = c ?? 'p2p';
        if (!['static', 'dynamic', 'p2p'].includes(mode)) throw kernelError('EINVAL', 'mode is static, dynamic or p2p');
        const ops =
          mode === 'static'
            ? undefined
            : { allowPeer2peer: mode === 'p2p', moveNotify: (att: DmaBufAttachment) => notes.notified.set(att, (notes.notified.get(att) ?? 0) + 1) };
        const att = core.attach(buf, this.dev(b), ops);
        notes.attachments.set(att.id, att);
        this.attached.add(att);
        return `ok att ${att.id} peer2peer ${att.peer2peer ? 1 : 0} (${att.decision})`;
      }
      case 'map': {
        const sg = core.map(this.attachment(a))[0]!;
        return `ok ${sg.target} 0x${sg.dmaAddress.toString(16)} ${sg.length}`;
      }
      case 'detach':
        this.detach(this.attachment(a));
        return 'ok';
      case 'close': {
        const buf = [...this.exported].find((x) => x.id === commandNumber(a));
        if (!buf) throw kernelError('ENOENT', `no dma-buf ${a} exported through this file`);
        this.exported.delete(buf);
        core.put(buf);
        return 'ok';
      }
      case 'revoke':
        return `ok revoked ${core.revokeExporter(this.dev(a)).length} attachments`;
      default:
        throw kernelError('EINVAL', 'commands: export BDF BYTES | attach BUF BDF static|dynamic|p2p | map ATT | detach ATT | close BUF | revoke BDF');
    }
  }

  /** The file is closed: what it attached is detached, what it exported put. */
  release(): void {
    for (const att of this.attached) this.detach(att);
    for (const buf of this.exported) this.s.core.put(buf);
    this.exported.clear();
  }
}

export function dmabufsText(core: DmaBufCore, notes: DmabufNotes): string {
  const rows = ['buf exporter size state | att importer dynamic peer2peer mapping move_notify'];
  for (const buf of core.bufs) {
    rows.push(`${buf.id} ${buf.exporter.bdf} ${buf.size} ${buf.revoked ? 'revoked' : 'live'}`);
    for (const att of buf.attachments) {
      const map = att.mapping ? att.mapping[0]!.target : att.revoked ? 'revoked' : '-';
      rows.push(`  ${att.id} ${att.importer.bdf} ${att.dynamic ? 1 : 0} ${att.peer2peer ? 1 : 0} ${map} ${notes.notified.get(att) ?? 0}`);
    }
  }
  return rows.join('\n') + '\n';
}

export function buildDmabufDebugfs(t: InodeTable, core: DmaBufCore, host: PciHost, fallbackOf: (dev: PciDev) => ExporterFallback): DmabufNotes {
  const dir = p2pemuDebugDir(t);
  const notes: DmabufNotes = { notified: new Map(), attachments: new Map() };
  const shared: Shared = { core, host, notes, fallbackOf };
  t.device(dir, {
    name: 'dmabuf',
    mode: 0o600,
    direct: true,
    size: () => 0,
    openFile: () => {
      const ctl = new DmabufControl(shared);
      return new CommandFile((command) => ctl.run(command), () => ctl.release());
    },
  });
  t.seqText(dir, 'dmabufs', 0o400, () => dmabufsText(core, notes));
  return notes;
}
