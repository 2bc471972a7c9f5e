// A PCI function as the model sees it: identity, place in the hierarchy,
// resources, PCIe port role, ACS control, and its config space bytes.

import type { EndpointKind, EndpointSpec, LinkSpec } from '../../config/spec.js';
import type { PciHostBridge } from './host-bridge.js';

export type PciRole = 'host_bridge' | 'root_port' | 'switch_upstream' | 'switch_downstream' | EndpointKind;

export interface PciResource {
  /** BAR index 0–5, or 'mem-window' / 'pref-window' for bridges */
  index: number;
  start: number;
  size: number;
  is64: boolean;
  prefetch: boolean;
}

/** MSI or MSI-X as the function advertises it, and the vectors a driver enabled (pci_alloc_irq_vectors). */
export interface MsiCapability {
  kind: 'msi' | 'msix';
  /** vectors the capability offers */
  capable: number;
  /** Linux IRQ numbers of the enabled vectors; empty while no driver enabled them */
  irqs: number[];
}

export interface BridgeWindow {
  start: number;
  size: number;
}

export class PciDev {
  /** set once the bus numbers are known */
  bus = 0;
  /** bridges: [secondary, subordinate] */
  busRange: [number, number] | undefined;
  readonly children: PciDev[] = [];
  bars: PciResource[] = [];
  memWindow: BridgeWindow | undefined;
  prefWindow: BridgeWindow | undefined;
  config: Buffer = Buffer.alloc(0);
  /** INTx pin (1 = INTA#); 0: the function uses no legacy interrupt */
  intxPin = 1;
  /** the legacy (INTx) Linux IRQ; 0 when there is no pin */
  irq = 0;
  msi: MsiCapability | undefined;
  /** physical slot number of the port above, when that port implements a slot */
  physicalSlot: number | undefined;
  /** driver_override: the only driver allowed to bind (pci-sysfs driver_override_store) */
  driverOverride: string | undefined;
  iommuGroup: number | undefined;
  enableCount = 0;
  d3coldAllowed = true;
  brokenParity = false;

  constructor(
    readonly name: string,
    readonly role: PciRole,
    readonly hostBridge: PciHostBridge,
    /** the bridge whose secondary bus this function sits on; undefined on a root bus */
    readonly upstream: PciDev | undefined,
    readonly slot: number,
    readonly fn: number,
    readonly ids: { vendor: number; device: number; subsystemVendor: number; subsystemDevice: number; revision: number; classCode: number },
    readonly link: LinkSpec | undefined,
    /** ACS Control register, or undefined when the function has no ACS capability */
    public acsCtrl: number | undefined,
    public numaNode: number,
    public driver: string | undefined,
    /** the topology entry of an endpoint */
    readonly endpoint: EndpointSpec | undefined,
    readonly where: string,
  ) {}

  get domain(): number {
    return this.hostBridge.domain;
  }

  get devfn(): number {
    return (this.slot << 3) | this.fn;
  }

  /** "0000:03:00.0", the kernel's pci_name() */
  get bdf(): string {
    const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
    return `${h(this.domain, 4)}:${h(this.bus, 2)}:${h(this.slot, 2)}.${this.fn}`;
  }

  get isBridge(): boolean {
    return this.role === 'root_port' || this.role === 'switch_upstream' || this.role === 'switch_downstream';
  }

  get isPcie(): boolean {
    return this.role !== 'host_bridge';
  }

  // kernel: pci_cfg_space_size(), drivers/pci/probe.c: host bridges are probed for extended config space too
  /** config space size: 4096 for PCIe functions and for host bridges (ECAM reaches them) */
  get cfgSize(): number {
    return 4096;
  }

  /** Whether the function has the power management capability (config-space.ts writes it for PCIe functions). */
  get hasPm(): boolean {
    return this.isPcie;
  }
}
