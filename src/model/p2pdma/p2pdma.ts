// The P2PDMA subsystem of one emulated host: registration of P2P memory,
// publish, find, distance, map type (cached), in-kernel and userspace
// allocations, and teardown, in the order of drivers/pci/p2pdma.c [PCI-NEXT].

import { kernelError } from '../../errno.js';
import { KERN_INFO, type KernelLog } from '../klog.js';
import { DevPagemap, MemoryType } from '../mm/pgmap.js';
import { PAGE_SIZE, type PoolAllocation } from '../mm/gen-pool.js';
import {
  BASE_FOLIOS,
  folioLayout,
  mappingEntries,
  orderOf,
  PMD_SIZE,
  PUD_SIZE,
  type FolioConfig,
} from '../mm/folio.js';
import { formatBytesExact } from '../mm/folio-report.js';
import { devPrefix, type PciDev, type PciHost } from '../pci/index.js';
import { calcMapTypeAndDist, MapType, mapTypeInputs, type MapTrace } from './map-type.js';
import { mapTypesIdx, P2pdmaProvider } from './provider.js';
import type { P2pAllocation, ProviderEvents } from './allocation.js';

export type { FolioMapping, P2pAllocation, ProviderEvents } from './allocation.js';

/** memremap_compat_align() on x86_64: the memory-hotplug sub-section */
export const SUBSECTION_SIZE = 2 * 1024 * 1024;

/** A range pci_p2pdma_add_resource() refused: the provider has no P2P memory from it. */
export interface RegistrationRefusal {
  dev: PciDev;
  bar: number;
  /** CPU physical start and length of the range */
  start: number;
  size: number;
  /** undefined: the driver skipped the range without an error (nothing logged either) */
  errno?: 'EINVAL';
  reason: string;
  /**
   * subsection-align: arch_add_memory() / check_pfn_span(), mainline;
   * series-pagemap-align: pci_p2pdma_check_pagemap_align() of the unmerged compound-page series;
   * nvme-cmb-align: nvme_map_cmb() skips a CMB that is not memremap_compat_align() aligned, mainline
   */
  rule: 'subsection-align' | 'series-pagemap-align' | 'nvme-cmb-align';
}

// kernel: pci_p2pdma_check_pagemap_align() of "Enable compound page for p2pdma memory" (PATCH 13/13, not merged)
/** PMD and PUD folios need the BAR start, the size and the offset all aligned to the folio (x86_64 has both THP sizes). */
export function checkPagemapAlign(barStart: number, size: number, offset: number, align: number): boolean {
  if (align === PAGE_SIZE) return true;
  if (align !== PMD_SIZE && align !== PUD_SIZE) return false;
  return barStart % align === 0 && size % align === 0 && offset % align === 0;
}

let nextAllocationId = 1;

export class P2pdmaSubsystem {
  private readonly providers = new Map<PciDev, P2pdmaProvider>();
  private readonly mapTypesByProvider = new Map<string, ReadonlyMap<number, MapType>>();
  private mapTypeChanges = 0;
  readonly allocations = new Map<number, P2pAllocation>();
  /** every registration refused since boot, with the rule that refused it */
  readonly refusals: RegistrationRefusal[] = [];
  events: ProviderEvents = {};
  /** tie-break for pci_p2pmem_find_many (the kernel uses get_random_u32_below) */
  random: (n: number) => number = (n) => Math.floor(Math.random() * n);

  constructor(
    readonly host: PciHost,
    readonly klog: KernelLog,
  ) {}

  providerOf(dev: PciDev): P2pdmaProvider | undefined {
    const p = this.providers.get(dev);
    return p && !p.released ? p : undefined;
  }

  /** Every live provider's map-type cache by provider BDF, as data (the I/O decision reads it). */
  get mapTypeTable(): ReadonlyMap<string, ReadonlyMap<number, MapType>> {
    return this.mapTypesByProvider;
  }

  /** Changes whenever mapTypeTable does (a map type cached, a provider set up or released): copies of it know when they are stale. */
  get mapTypeVersion(): number {
    return this.mapTypeChanges;
  }

  allProviders(): P2pdmaProvider[] {
    return [...this.providers.values()].filter((p) => !p.released);
  }

  // kernel: pcim_p2pdma_init() + pci_p2pdma_setup_pool()
  private setupPool(dev: PciDev): P2pdmaProvider {
    let p = this.providerOf(dev);
    if (!p) {
      p = new P2pdmaProvider(dev);
      this.providers.set(dev, p);
      this.mapTypesByProvider.set(dev.bdf, p.mapTypes);
      this.mapTypeChanges++;
      this.events.poolCreated?.(p);
    }
    return p;
  }

  /** A driver decided not to register a range (the kernel says nothing; the report does). */
  noteSkipped(r: Omit<RegistrationRefusal, 'errno'>): void {
    this.refusals.push(r);
  }

  // kernel: pci_p2pdma_add_resource(), drivers/pci/p2pdma.c [PCI-NEXT]
  addResource(dev: PciDev, barIndex: number, size: number, offset: number, folios: FolioConfig = BASE_FOLIOS): void {
    const bar = dev.bars.find((b) => b.index === barIndex);
    if (!bar) throw kernelError('EINVAL', `${dev.bdf}: BAR ${barIndex} is not a memory BAR`);
    if (offset >= bar.size) throw kernelError('EINVAL', `${dev.bdf}: offset ${offset} beyond BAR ${barIndex}`);
    const len = size === 0 ? bar.size - offset : size;
    if (offset + len > bar.size) throw kernelError('EINVAL', `${dev.bdf}: ${len} bytes at ${offset} do not fit BAR ${barIndex}`);
    const start = bar.start + offset;
    const refuse = (reason: string, rule: RegistrationRefusal['rule']) => {
      this.refusals.push({ dev, bar: barIndex, start, size: len, errno: 'EINVAL', reason, rule });
      return kernelError('EINVAL', `${dev.bdf}: ${reason}`);
    };
    // the series: a device-wide folio size needs the BAR, the size and the offset aligned to it
    if (folios.policy === 'device-align' && !checkPagemapAlign(bar.start, len, offset, folios.align)) {
      this.klog.log(KERN_INFO, `${devPrefix(dev)}invalid align 0x${folios.align.toString(16)} for bar ${barIndex}`);
      throw refuse(`${formatBytesExact(len)} at offset ${formatBytesExact(offset)} of BAR ${barIndex} is not whole ${formatBytesExact(folios.align)} folios`, 'series-pagemap-align');
    }
    // arch_add_memory() refuses ranges that are not sub-section aligned
    if (start % SUBSECTION_SIZE !== 0 || len % SUBSECTION_SIZE !== 0) {
      const pfn = (a: number) => `0x${Math.floor(a / PAGE_SIZE).toString(16)}`;
      this.klog.log(KERN_INFO, `WARNING: Misaligned __add_pages start: ${pfn(start)} end: ${pfn(start + len - 1)}`);
      throw refuse('P2P range is not 2 MiB aligned', 'subsection-align');
    }
    const p = this.setupPool(dev);
    p.folios = folios;
    const pgmap = new DevPagemap(MemoryType.MEMORY_DEVICE_PCI_P2PDMA, start, len, barIndex, offset);
    pgmap.vmemmapShift = folios.policy === 'device-align' ? orderOf(folios.align) : 0;
    p.pgmaps.push(pgmap);
    // bus offset 0: CPU and PCI bus addresses are the same on x86
    p.pool.addChunk(start, start, len, pgmap);
    this.klog.log(KERN_INFO, `${devPrefix(dev)}added peer-to-peer DMA memory 0x${start.toString(16)}-0x${(start + len - 1).toString(16)}`);
  }

  // kernel: pci_p2pmem_publish()
  publish(dev: PciDev, publish: boolean): void {
    const p = this.providerOf(dev);
    if (p) p.published = publish;
  }

  // kernel: pci_has_p2pmem()
  hasP2pmem(dev: PciDev): boolean {
    const p = this.providerOf(dev);
    return p !== undefined && p.pool.chunks.length > 0 && p.published;
  }

  /** calc_map_type_and_dist with the cache store the kernel does after every computation. */
  private calc(provider: PciDev, client: PciDev, verbose: boolean): MapTrace {
    const t = calcMapTypeAndDist(provider, client, verbose, { cpu: this.host.spec.cpu, klog: this.klog });
    // results are cached only when the provider has p2pdma state (§11.7)
    const p = this.providerOf(provider);
    if (p) {
      p.mapTypes.set(mapTypesIdx(client), t.mapType);
      p.mapTypeInputs.set(mapTypesIdx(client), mapTypeInputs(provider, client));
      this.mapTypeChanges++;
    }
    return t;
  }

  /**
   * The cached map type of a pair, what DMA between them uses, with whether it
   * was computed before a change to the path it depends on (the kernel never
   * invalidates it); undefined when nothing is cached.
   */
  cachedMapType(provider: PciDev, client: PciDev): { type: MapType; computedBeforeChange: boolean } | undefined {
    const p = this.providerOf(provider);
    const type = p?.mapTypes.get(mapTypesIdx(client));
    if (type === undefined) return undefined;
    return { type, computedBeforeChange: p!.mapTypeInputs.get(mapTypesIdx(client)) !== mapTypeInputs(provider, client) };
  }

  // kernel: pci_p2pdma_distance_many()
  distanceMany(provider: PciDev, clients: PciDev[], verbose: boolean): number {
    if (clients.length === 0) return -1;
    let total = 0;
    let notSupported = false;
    for (const c of clients) {
      const t = this.calc(provider, c, verbose);
      if (t.mapType === MapType.NOT_SUPPORTED) {
        notSupported = true;
        if (!verbose) break;
      }
      total += t.dist;
    }
    return notSupported ? -1 : total;
  }

  // kernel: pci_p2pmem_find_many()
  findMany(clients: PciDev[]): PciDev | undefined {
    let best: PciDev[] = [];
    let bestDist = Infinity;
    for (const dev of this.host.sorted()) {
      if (!this.hasP2pmem(dev)) continue;
      const d = this.distanceMany(dev, clients, false);
      if (d < 0 || d > bestDist) continue;
      if (d < bestDist) best = [];
      bestDist = d;
      if (best.length < PAGE_SIZE / 8) best.push(dev);
    }
    return best.length ? best[this.random(best.length)] : undefined;
  }

  // kernel: pci_p2pdma_map_type()
  /** The map type the DMA path uses: cached per (provider, client); computed verbosely on first use. */
  mapType(provider: PciDev | undefined, client: PciDev | undefined): MapType {
    const p = provider && this.providerOf(provider);
    if (!p || !client) return MapType.NOT_SUPPORTED;
    const cached = p.mapTypes.get(mapTypesIdx(client));
    if (cached !== undefined) return cached;
    return this.calc(provider, client, true).mapType;
  }

  private takePages(p: P2pdmaProvider, size: number, owner: { pid: number; comm: string }, align?: number): P2pAllocation;
  private takePages(p: P2pdmaProvider, size: number, owner: { pid: number; comm: string }, align: number, soft: true): P2pAllocation | undefined;
  private takePages(p: P2pdmaProvider, size: number, owner: { pid: number; comm: string }, align = PAGE_SIZE, soft = false): P2pAllocation | undefined {
    const a: PoolAllocation<DevPagemap> | undefined = p.pool.allocAligned(size, align);
    if (!a) {
      if (soft) return undefined;
      p.counters.failedNoMemory++;
      throw kernelError('ENOMEM', `${p.dev.bdf}: no ${size} bytes of P2P memory left (${p.pool.avail} available)`);
    }
    const pgmap = a.chunk.owner;
    if (!pgmap.tryGetLive(a.size / PAGE_SIZE)) {
      p.pool.free(a.addr, a.size);
      p.counters.failedNoDevice++;
      throw kernelError('ENODEV', `${p.dev.bdf} is going away`);
    }
    const alloc: P2pAllocation = {
      id: nextAllocationId++,
      provider: p,
      pgmap,
      addr: a.addr,
      busAddr: a.busAddr,
      size: a.size,
      bar: pgmap.bar,
      barOffset: pgmap.barOffset + (a.addr - pgmap.start),
      owner,
      revoked: false,
    };
    this.allocations.set(alloc.id, alloc);
    p.counters.allocations++;
    p.counters.bytesAllocated += a.size;
    return alloc;
  }

  // kernel: p2pmem_alloc_mmap(), drivers/pci/p2pdma.c [PCI-NEXT]; folio policies: see native-notes/compound-pages.md
  /** One userspace mapping of p2pmem/allocate: a new allocation, one page reference per page. */
  allocMmap(dev: PciDev, req: { len: number; pgoff: number; shared: boolean; pid: number; comm: string; va?: number }): P2pAllocation {
    const p = this.providerOf(dev);
    if (!req.shared) {
      if (p) p.counters.failedPrivate++;
      this.klog.log(KERN_INFO, `${devPrefix(dev)}${req.comm}: fail, attempted private mapping`);
      throw kernelError('EINVAL', 'allocate needs a MAP_SHARED mapping');
    }
    if (req.pgoff !== 0) {
      if (p) p.counters.failedOffset++;
      this.klog.log(KERN_INFO, `${devPrefix(dev)}${req.comm}: fail, attempted mapping with non-zero offset`);
      throw kernelError('EINVAL', 'allocate must be mapped at offset 0');
    }
    if (!p) throw kernelError('ENODEV', `${dev.bdf} has no P2P memory`);
    const va = req.va ?? 0;
    const cfg = p.folios;
    let alloc: P2pAllocation;
    let folioSize = PAGE_SIZE;
    if (cfg.policy === 'device-align') {
      // the series' p2pmem_alloc_mmap(): both ends of the vma must be aligned to the pgmap's folio
      if (va % cfg.align !== 0 || (va + req.len) % cfg.align !== 0) {
        p.counters.failedAlign++;
        const hex = (n: number) => `0x${n.toString(16)}`;
        this.klog.log(KERN_INFO, `${devPrefix(dev)}${req.comm}: unaligned vma (${hex(va)}~${hex(va + req.len)}, ${hex(cfg.align)})`);
        throw kernelError('EINVAL', `mapping of ${req.len} bytes at ${hex(va)} is not aligned to ${cfg.align} bytes`);
      }
      alloc = this.takePages(p, req.len, { pid: req.pid, comm: req.comm }, cfg.align);
      folioSize = cfg.align;
    } else if (cfg.policy === 'best-effort') {
      // the review: the highest order an aligned allocation can still get, down to base pages
      const tries = [PUD_SIZE, PMD_SIZE].filter((s) => s <= cfg.align && s <= req.len);
      let got: P2pAllocation | undefined;
      for (const size of tries) {
        got = this.takePages(p, req.len, { pid: req.pid, comm: req.comm }, size, true);
        if (got) {
          folioSize = size;
          break;
        }
      }
      alloc = got ?? this.takePages(p, req.len, { pid: req.pid, comm: req.comm });
    } else {
      alloc = this.takePages(p, req.len, { pid: req.pid, comm: req.comm });
    }
    const alignedVa = folioSize > PAGE_SIZE ? alloc.addr % folioSize : va;
    alloc.folio = {
      policy: cfg.policy,
      folioSize,
      folios: folioLayout(alloc.addr, alloc.size, folioSize),
      va,
      entries: mappingEntries(va, alloc.addr, alloc.size, folioSize),
      entriesIfAligned: mappingEntries(alignedVa, alloc.addr, alloc.size, folioSize),
    };
    return alloc;
  }

  /** Where a mapping allocated before its address was known (at mmap(), the kernel choosing) landed. */
  placeMapping(alloc: P2pAllocation, va: number): void {
    const fm = alloc.folio;
    if (!fm) return;
    fm.va = va;
    fm.entries = mappingEntries(va, alloc.addr, alloc.size, fm.folioSize);
  }

  /** The pages of a userspace allocation are freed (munmap, exit, or zapped by a removal). */
  freeMmap(alloc: P2pAllocation): void {
    if (!this.allocations.delete(alloc.id)) return;
    const p = alloc.provider;
    p.pool.free(alloc.addr, alloc.size);
    p.counters.frees++;
    // kernel: p2pdma_folio_free() drops one pgmap reference per page
    alloc.pgmap.put(alloc.size / PAGE_SIZE);
  }

  // kernel: pci_alloc_p2pmem() / pci_free_p2pmem(): one reference per allocation
  allocKernel(dev: PciDev, size: number): P2pAllocation | undefined {
    const p = this.providerOf(dev);
    if (!p) return undefined;
    const a = p.pool.alloc(size);
    if (!a) return undefined;
    if (!a.chunk.owner.tryGetLive(1)) {
      p.pool.free(a.addr, a.size);
      return undefined;
    }
    const alloc: P2pAllocation = {
      id: nextAllocationId++,
      provider: p,
      pgmap: a.chunk.owner,
      addr: a.addr,
      busAddr: a.busAddr,
      size: a.size,
      bar: a.chunk.owner.bar,
      barOffset: a.chunk.owner.barOffset + (a.addr - a.chunk.owner.start),
      owner: { pid: 0, comm: 'kernel' },
      revoked: false,
    };
    this.allocations.set(alloc.id, alloc);
    return alloc;
  }

  freeKernel(alloc: P2pAllocation): void {
    if (!this.allocations.delete(alloc.id)) return;
    alloc.provider.pool.free(alloc.addr, alloc.size);
    alloc.pgmap.put(1);
  }

  /**
   * Driver unbind or device removal, in devm order: pci_p2pdma_unmap_mappings()
   * (allocate disappears, user mappings are zapped and their pages freed), then
   * memunmap_pages() waits for the remaining references (kernel allocations,
   * pinned pages), then pci_p2pdma_release() drops the state.
   */
  async teardown(dev: PciDev): Promise<void> {
    const p = this.providerOf(dev);
    if (!p) return;
    // Kill the references before anything waits, as percpu_ref_kill() does: a
    // fault, kernel allocation or dma-buf export landing while the mappings are
    // being zapped now fails instead of taking a reference nobody will drop.
    const drained = Promise.all(p.pgmaps.map((m) => m.kill()));
    const user = [...this.allocations.values()].filter((a) => a.provider === p && a.owner.pid !== 0);
    for (const a of user) a.revoked = true;
    await this.events.unmapMappings?.(p, user);
    for (const a of user) this.freeMmap(a);
    await drained;
    p.released = true;
    p.mapTypes.clear();
    p.mapTypeInputs.clear();
    this.mapTypesByProvider.delete(dev.bdf);
    this.mapTypeChanges++;
    p.pool.destroy();
    this.events.released?.(p);
  }
}
