// A PCI function as the model sees it: identity, place in the hierarchy,
// resources, PCIe port role, ACS control, and its config space bytes.

import type { EndpointKind, EndpointSpec, LinkSpec } from '../../config/index.js';
import type { PciHostBridge } from './host-bridge.js';
import type { PciSriov } from './sriov.js';
import { findCapability } from './config-read.js';
import { PCI_CAP_ID_PM } from './regs.js';

/** pci_bridge: a conventional PCI-to-PCI bridge, a PCIe-to-PCI bridge or a CardBus bridge */
export type PciRole = 'host_bridge' | 'root_port' | 'switch_upstream' | 'switch_downstream' | 'pci_bridge' | EndpointKind;

/** One line of the sysfs resource file (pci_dev->resource[index]). */
export interface ResourceLine {
  index: number;
  start: number;
  size: number;
  flags: number;
}

export interface PciResource {
  /** BAR index 0–5 */
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
  /** a PF with a generated SR-IOV capability: the VF BAR regions (TotalVFs × each VF BAR) */
  iovBars: PciResource[] = [];
  memWindow: BridgeWindow | undefined;
  prefWindow: BridgeWindow | undefined;
  config: Buffer = Buffer.alloc(0);
  /** INTx pin (1 = INTA#); 0: the function uses no legacy interrupt */
  intxPin = 1;
  /** the legacy (INTx) Linux IRQ; 0 when there is no pin */
  irq = 0;
  msi: MsiCapability | undefined;
  /** the link's capability when it trained below it (LNKCAP); undefined: the same as link */
  maxLink: LinkSpec | undefined;
  /** physical slot number of the port above, when that port implements a slot */
  physicalSlot: number | undefined;
  /** driver_override: the only driver allowed to bind (pci-sysfs driver_override_store) */
  driverOverride: string | undefined;
  iommuGroup: number | undefined;
  enableCount = 0;
  d3coldAllowed = true;
  brokenParity = false;
  /** config space comes from the topology file: the model reads it and never rebuilds it */
  raw = false;
  /** config space size: 4096 (PCI Express, host bridges, VFs), 256 (conventional PCI), 64 (a dump cut short) */
  cfgSize = 4096;
  /** whether config space has a PCI Express capability */
  isPcie = true;
  /** offset of the ACS extended capability (pdev->acs_cap), 0 when there is none */
  acsCap = 0;
  /** the resource file as recorded (raw functions, VFs); undefined: computed from bars and windows */
  resources: ResourceLine[] | undefined;
  /** the name lspci shows as Physical Slot, when a recording gives one */
  slotName: string | undefined;
  /** a VF: its PF and index */
  physfn: PciDev | undefined;
  vfIndex = 0;
  /** a PF: the SR-IOV state (pdev->sriov) */
  sriov: PciSriov | undefined;

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
    return this.role === 'root_port' || this.role === 'switch_upstream' || this.role === 'switch_downstream' || this.role === 'pci_bridge';
  }

  get isVirtfn(): boolean {
    return this.physfn !== undefined;
  }

  /** Whether the function has the power management capability. */
  get hasPm(): boolean {
    return this.raw ? findCapability(this.config, PCI_CAP_ID_PM) !== 0 : this.isPcie;
  }
}
