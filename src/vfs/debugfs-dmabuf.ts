// MNT/sys/kernel/debug/p2pemu/dmabuf (control) and dmabufs (state): dma-buf
// sharing of P2P memory driven from scripts (an invented interface;
// native-notes/dmabuf.md). Removing or unbinding an exporter revokes its buffers.
//
//   export BDF BYTES                     → "ok buf N"
//   attach BUF BDF static|dynamic|p2p    → "ok att N peer2peer 0|1 (reason)"
//   map ATT                              → "ok TARGET 0xADDR LEN"
//   revoke BDF                           → "ok revoked N attachments"

import { kernelError } from '../errno.js';
import type { DmaBufAttachment, DmaBufCore, ExporterFallback } from '../model/dmabuf/dmabuf.js';
import type { PciDev, PciHost } from '../model/pci/index.js';
import { CommandFile, type CommandHandler } from './command-file.js';
import type { InodeTable } from './tree.js';

export interface DmabufNotes {
  /** move_notify calls each attachment received */
  notified: Map<DmaBufAttachment, number>;
}

function dmabufCommand(core: DmaBufCore, host: PciHost, notes: DmabufNotes, fallbackOf: (dev: PciDev) => ExporterFallback): CommandHandler {
  const dev = (id: string | undefined): PciDev => {
    const d = id ? host.find(id) : undefined;
    if (!d) throw kernelError('ENODEV', `no device ${id}`);
    return d;
  };
  const attachments = () => core.bufs.flatMap((b) => b.attachments);
  return (command) => {
    const [cmd, a, b, c] = command.split(/\s+/);
    switch (cmd) {
      case 'export': {
        const exporter = dev(a);
        const size = Number(b);
        if (!Number.isSafeInteger(size) || size <= 0) throw kernelError('EINVAL', 'bad size');
        return `ok buf ${core.export(exporter, size, fallbackOf(exporter)).id}`;
      }
      case 'attach': {
        const buf = core.bufs.find((x) => x.id === Number(a));
        if (!buf) throw kernelError('ENOENT', `no dma-buf ${a}`);
        const mode = c ?? 'p2p';
        if (!['static', 'dynamic', 'p2p'].includes(mode)) throw kernelError('EINVAL', 'mode is static, dynamic or p2p');
        const ops =
          mode === 'static'
            ? undefined
            : { allowPeer2peer: mode === 'p2p', moveNotify: (att: DmaBufAttachment) => notes.notified.set(att, (notes.notified.get(att) ?? 0) + 1) };
        const att = core.attach(buf, dev(b), ops);
        return `ok att ${attachments().indexOf(att) + 1} peer2peer ${att.peer2peer ? 1 : 0} (${att.decision})`;
      }
      case 'map': {
        const att = attachments()[Number(a) - 1];
        if (!att) throw kernelError('ENOENT', `no attachment ${a}`);
        const sg = core.map(att)[0]!;
        return `ok ${sg.target} 0x${sg.dmaAddress.toString(16)} ${sg.length}`;
      }
      case 'revoke':
        return `ok revoked ${core.revokeExporter(dev(a)).length} attachments`;
      default:
        throw kernelError('EINVAL', 'commands: export BDF BYTES | attach BUF BDF static|dynamic|p2p | map ATT | revoke BDF');
    }
  };
}

export function dmabufsText(core: DmaBufCore, notes: DmabufNotes): string {
  const rows = ['buf exporter size state | att importer dynamic peer2peer mapping move_notify'];
  let n = 0;
  for (const buf of core.bufs) {
    rows.push(`${buf.id} ${buf.exporter.bdf} ${buf.size} ${buf.revoked ? 'revoked' : 'live'}`);
    for (const att of buf.attachments) {
      n++;
      const map = att.mapping ? att.mapping[0]!.target : att.revoked ? 'revoked' : '-';
      rows.push(`  ${n} ${att.importer.bdf} ${att.dynamic ? 1 : 0} ${att.peer2peer ? 1 : 0} ${map} ${notes.notified.get(att) ?? 0}`);
    }
  }
  return rows.join('\n') + '\n';
}

export function buildDmabufDebugfs(t: InodeTable, core: DmaBufCore, host: PciHost, fallbackOf: (dev: PciDev) => ExporterFallback): DmabufNotes {
  const dir = t.dirs(t.root, 'sys/kernel/debug/p2pemu');
  const notes: DmabufNotes = { notified: new Map() };
  t.device(dir, { name: 'dmabuf', mode: 0o600, direct: true, size: () => 0, openFile: () => new CommandFile(dmabufCommand(core, host, notes, fallbackOf)) });
  t.text(dir, 'dmabufs', 0o400, () => dmabufsText(core, notes));
  return notes;
}
