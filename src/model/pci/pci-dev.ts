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
  irq = 0;
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

  /** config space size: 4096 for PCIe functions, 256 for the conventional host bridge */
  get cfgSize(): number {
    return this.isPcie ? 4096 : 256;
  }
}
