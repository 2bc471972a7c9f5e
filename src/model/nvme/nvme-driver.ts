// nvme-pci's probe and remove, for what the model needs: controller instances
// (nvme%d in probe order), the CMB, SQs in the CMB, namespaces.

import type { KernelLog } from '../klog.js';
import type { P2pdmaSubsystem } from '../p2pdma/index.js';
import type { PciDev } from '../pci/index.js';
import { NvmeCtrl } from './ctrl.js';

export class NvmeDriver {
  readonly ctrls = new Map<PciDev, NvmeCtrl>();
  private nextInstance = 0;
  private readonly freeInstances: number[] = [];

  constructor(
    private readonly p2pdma: P2pdmaSubsystem,
    private readonly klog: KernelLog,
  ) {}

  // kernel: nvme_probe() → nvme_pci_enable() → nvme_map_cmb(), then nvme_setup_io_queues()
  probe(dev: PciDev): NvmeCtrl | undefined {
    const spec = dev.endpoint?.nvme;
    if (!spec) return undefined;
    // ida_alloc(): the lowest free instance number
    this.freeInstances.sort((a, b) => a - b);
    const ctrl = new NvmeCtrl(dev, this.freeInstances.shift() ?? this.nextInstance++, spec);
    ctrl.mapCmb(this.p2pdma, this.klog);
    ctrl.setupIoQueues(this.p2pdma);
    this.ctrls.set(dev, ctrl);
    return ctrl;
  }

  // kernel: nvme_remove(): queues are torn down before the devm actions run
  remove(dev: PciDev): void {
    const ctrl = this.ctrls.get(dev);
    if (!ctrl) return;
    ctrl.freeQueues(this.p2pdma);
    this.ctrls.delete(dev);
    this.freeInstances.push(ctrl.instance);
  }

  byName(name: string): NvmeCtrl | undefined {
    return [...this.ctrls.values()].find((c) => c.name === name);
  }
}
