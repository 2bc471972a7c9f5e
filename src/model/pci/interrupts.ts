// Interrupts of a function: its INTx pin and legacy IRQ, the MSI or MSI-X
// capability it advertises, and the vectors a bound driver enables. What
// /sys/…/irq and msi_irqs/ show follows from these.

import { cfgByte, cfgWord, findCapability } from './config-read.js';
import type { MsiCapability, PciDev } from './pci-dev.js';
import * as R from './regs.js';

/** IOAPIC lines PCI INTx is routed to on x86 (GSI 16–23); MSI vectors are numbered above them. */
const FIRST_INTX_IRQ = 16;
const INTX_LINES = 8;
export const FIRST_MSI_IRQ = 24;

/** Vectors each kind of function advertises (the capability's table size or multiple-message capable). */
const MSIX_TABLE_SIZE = 64;
/** What the drivers ask for with pci_alloc_irq_vectors(): pcieport one MSI, nvme one per queue plus admin. */
const ACCEL_VECTORS = 4;
const NIC_VECTORS = 8;

/** The capability a function advertises, by role; undefined: none. */
export function msiCapabilityOf(dev: PciDev): 'msi' | 'msix' | undefined {
  switch (dev.role) {
    case 'root_port':
    case 'switch_upstream':
    case 'switch_downstream':
      return 'msi';
    case 'nvme':
    case 'accelerator':
    case 'nic':
      return 'msix';
    default:
      return undefined;
  }
}

/** BAR and offsets of the MSI-X table and PBA (in the register BAR, after the registers). */
export const MSIX_TABLE = { bar: 0, table: 0x2000, pba: 0x3000 } as const;

/**
 * The MSI or MSI-X capability config space advertises: the one whose enable
 * bit is set, else MSI-X when present. Vectors: the MSI-X table size, or the
 * MSI Multiple Message Capable count.
 */
export function msiFromConfig(cfg: Buffer): MsiCapability | undefined {
  const msix = findCapability(cfg, R.PCI_CAP_ID_MSIX);
  const msi = findCapability(cfg, R.PCI_CAP_ID_MSI);
  const msiOn = msi !== 0 && (cfgWord(cfg, msi + R.PCI_MSI_FLAGS) & R.PCI_MSI_FLAGS_ENABLE) !== 0;
  if (msix && !msiOn) return { kind: 'msix', capable: (cfgWord(cfg, msix + R.PCI_MSIX_FLAGS) & 0x7ff) + 1, irqs: [] };
  if (msi) return { kind: 'msi', capable: 1 << ((cfgWord(cfg, msi + R.PCI_MSI_FLAGS) >> 1) & 7), irqs: [] };
  return undefined;
}

/** A function whose config comes from the file: its pin from config, its IRQ as recorded (or the Interrupt Line), its vectors as recorded. */
function rawInterrupts(dev: PciDev): void {
  dev.intxPin = cfgByte(dev.config, R.PCI_INTERRUPT_PIN);
  dev.irq = dev.endpoint?.irq ?? cfgByte(dev.config, R.PCI_INTERRUPT_LINE);
  dev.msi = msiFromConfig(dev.config);
}

/** At enumeration: pins, routed legacy IRQs and capabilities. */
export function assignInterrupts(devices: PciDev[]): void {
  for (const dev of devices) {
    if (dev.raw) {
      rawInterrupts(dev);
      continue;
    }
    // the host bridge raises no interrupt: pin 0, irq 0 (lspci then prints no Interrupt line)
    dev.intxPin = dev.role === 'host_bridge' ? 0 : 1;
    // swizzled like INTA# on consecutive slots
    dev.irq = dev.intxPin === 0 ? 0 : FIRST_INTX_IRQ + ((dev.slot + dev.intxPin - 1) % INTX_LINES);
    const kind = msiCapabilityOf(dev);
    dev.msi = kind ? { kind, capable: kind === 'msix' ? MSIX_TABLE_SIZE : 1, irqs: [] } : undefined;
  }
}

/** Vectors the bound driver enables; 0: the driver uses none (or only INTx). */
export function vectorsWanted(dev: PciDev): number {
  if (!dev.msi || !dev.driver) return 0;
  switch (dev.role) {
    case 'root_port':
    case 'switch_downstream':
      return 1; // pcieport: PME, AER, hotplug share one vector
    case 'nvme':
      return (dev.endpoint?.nvme?.ioQueues ?? 0) + 1; // admin queue plus one per I/O queue
    case 'accelerator':
      return ACCEL_VECTORS;
    case 'nic':
      return NIC_VECTORS;
    default:
      // a recorded function takes as many vectors as it had
      return dev.endpoint?.msiIrqs?.length ?? 0;
  }
}

/** Hands out Linux IRQ numbers for MSI vectors, as the vector domain does: lowest free first. */
export class IrqAllocator {
  private readonly used = new Set<number>();

  /** IRQs a recording already gives a function */
  reserve(irqs: number[]): void {
    for (const irq of irqs) this.used.add(irq);
  }

  alloc(n: number): number[] {
    const out: number[] = [];
    for (let irq = FIRST_MSI_IRQ; out.length < n; irq++) if (!this.used.has(irq)) out.push(irq);
    for (const irq of out) this.used.add(irq);
    return out;
  }

  free(irqs: number[]): void {
    for (const irq of irqs) this.used.delete(irq);
  }
}

// kernel: pci_alloc_irq_vectors(), drivers/pci/msi/api.c
/** A driver's probe enables its vectors (and the device stops using INTx). */
export function enableVectors(dev: PciDev, irqs: IrqAllocator): void {
  const n = Math.min(vectorsWanted(dev), dev.msi?.capable ?? 0);
  if (!dev.msi || n === 0 || dev.msi.irqs.length > 0) return;
  dev.msi.irqs = irqs.alloc(n);
}

/** Boot of a recorded function: the vectors it had, with their IRQ numbers. */
export function restoreVectors(dev: PciDev, irqs: IrqAllocator): void {
  const recorded = dev.endpoint?.msiIrqs;
  if (!dev.msi || !recorded?.length || dev.msi.irqs.length > 0) return;
  irqs.reserve(recorded);
  dev.msi.irqs = [...recorded];
}

// kernel: pci_free_irq_vectors(), drivers/pci/msi/api.c
export function disableVectors(dev: PciDev, irqs: IrqAllocator): void {
  if (!dev.msi) return;
  irqs.free(dev.msi.irqs);
  dev.msi.irqs = [];
}

// kernel: irq_show(), drivers/pci/pci-sysfs.c: the first MSI IRQ with MSI, the INTx IRQ otherwise (MSI-X too)
export function irqShow(dev: PciDev): number {
  if (dev.msi?.kind === 'msi' && dev.msi.irqs.length > 0) return dev.msi.irqs[0]!;
  return dev.irq;
}
