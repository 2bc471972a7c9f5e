// The keys a topology uses to replay a real function: raw config space,
// the sysfs resource lines, recorded IRQs, IOMMU group and slot, and SR-IOV.
// What config space holds is never given twice: with `config:` the IDs,
// class, link and BAR types come from the bytes.

import { CONFIG_SIZES, parseConfigHex } from './raw-config.js';
import type { BarSpec, P2pmemSpec, RawConfigSpec, ResourceSpec, SriovCapSpec, SriovSpec, VfSpec } from './spec.js';
import type { Cursor } from './yaml-cursor.js';

/** Keys whose value the config bytes already hold. */
export const CONFIG_DEFINED_KEYS = ['vendor', 'device', 'subsystem_vendor', 'subsystem_device', 'revision', 'class', 'link', 'max_link', 'pcie', 'bars'];

/** Resource file lines: 6 BARs, the ROM, 6 VF BARs and 4 bridge windows. */
const RESOURCE_LINES = 17;

export function parseRawConfig(c: Cursor): RawConfigSpec | undefined {
  const config: Cursor = c.get('config');
  if (!config.present) {
    if (c.has('config_size')) c.get('config_size').fail('config_size goes with config');
    return undefined;
  }
  let size: number | undefined;
  if (c.has('config_size')) {
    size = c.get('config_size').int();
    if (!(CONFIG_SIZES as readonly number[]).includes(size)) c.get('config_size').fail(`config_size must be one of ${CONFIG_SIZES.join(', ')}, not ${size}`);
  }
  const parsed = parseConfigHex(config.str(), size);
  if (!Buffer.isBuffer(parsed)) {
    if (parsed.line) config.failAtLine(parsed.line, parsed.problem);
    config.fail(parsed.problem);
  }
  if (parsed.length < 64) config.fail('config space needs at least the 64-byte header');
  for (const key of CONFIG_DEFINED_KEYS) {
    if (c.has(key)) c.get(key).fail(`${key} is read from config; edit the bytes instead (or drop config to describe the function by keys)`);
  }
  return { at: config.pos, bytes: parsed };
}

export function parseResource(c: Cursor, hasConfig: boolean): ResourceSpec[] | undefined {
  const list = c.get('resource');
  if (!list.present) return undefined;
  if (!hasConfig) list.fail('resource lines go with a recorded config; without config the BARs are placed by the model (use bars)');
  const seen = new Set<number>();
  return list.list().map((r) => {
    r.map(['index', 'start', 'size', 'flags']);
    const index = r.get('index').int(undefined, 0, RESOURCE_LINES - 1);
    if (seen.has(index)) r.get('index').fail(`resource line ${index} is given twice`);
    seen.add(index);
    const start = r.get('start').int(0);
    const size = r.get('size').size();
    return { at: r.pos, index, start, size, flags: r.get('flags').int(0, 0, 0xffffffff) };
  });
}

export function parseIrqs(c: Cursor): number[] | undefined {
  const list = c.get('msi_irqs');
  if (!list.present) return undefined;
  const irqs = list.list().map((i) => i.int(undefined, 1, 0xffffff));
  if (new Set(irqs).size !== irqs.length) list.fail('an IRQ is listed twice');
  return irqs;
}

/** numa_node as sysfs shows it: a node, or -1 (NUMA_NO_NODE) */
export function parseNumaNode(c: Cursor, fallback: number | undefined): number | undefined {
  const n = c.get('numa_node');
  return n.present ? n.int(undefined, -1, 1023) : fallback;
}

function parseVf(v: Cursor): VfSpec {
  v.map(['config', 'config_size', 'driver', 'irq', 'msi_irqs', 'numa_node', 'iommu_group']);
  const driver = v.has('driver') ? v.get('driver').str() : undefined;
  return {
    at: v.pos,
    config: parseRawConfig(v),
    driver: driver === 'none' ? null : driver,
    irq: v.has('irq') ? v.get('irq').int(undefined, 0, 0xffffff) : undefined,
    msiIrqs: parseIrqs(v),
    numaNode: parseNumaNode(v, undefined),
    iommuGroup: v.has('iommu_group') ? v.get('iommu_group').int(undefined, 0, 0xffffff) : undefined,
  };
}

const CAP_KEYS = ['total_vfs', 'vf_device', 'offset', 'stride', 'vf_bars'];

/**
 * sriov: the VFs enabled at boot and how they bind; with generated config
 * space also the capability itself (TotalVFs, VF Device ID, offset, stride,
 * VF BARs). With `config:` the capability is read from the PF's bytes.
 */
export function parseSriov(
  c: Cursor,
  hasConfig: boolean,
  parseBars: (c: Cursor) => BarSpec[],
  /** bars undefined: the VF BAR sizes are in config, checked when a VF is created */
  parseP2pmem: (c: Cursor, bars: BarSpec[] | undefined) => P2pmemSpec,
): SriovSpec | undefined {
  const s = c.get('sriov');
  if (!s.present) return undefined;
  s.map(['num_vfs', 'vf_driver', 'autoprobe', 'p2pmem', 'vfs', ...CAP_KEYS]);
  let cap: SriovCapSpec | undefined;
  if (hasConfig) {
    for (const key of CAP_KEYS) if (s.has(key)) s.get(key).fail(`${key} is read from the SR-IOV capability in config`);
  } else {
    const bars = s.has('vf_bars') ? parseBars(s.get('vf_bars')) : [];
    cap = {
      totalVfs: s.get('total_vfs').int(undefined, 1, 0xffff),
      vfDevice: s.get('vf_device').int(undefined, 0, 0xffff),
      offset: s.get('offset').int(1, 1, 0xffff),
      stride: s.get('stride').int(1, 0, 0xffff),
      bars,
    };
  }
  const numVfs = s.get('num_vfs').int(0, 0, 0xffff);
  if (cap && numVfs > cap.totalVfs) s.get('num_vfs').fail(`num_vfs ${numVfs} is more than total_vfs ${cap.totalVfs}`);
  const vfDriver = s.get('vf_driver').str('none');
  const vfs = s.get('vfs').list().map(parseVf);
  const p2pmem = s.has('p2pmem') ? parseP2pmem(s.get('p2pmem'), cap?.bars) : undefined;
  return { at: s.pos, cap, numVfs, vfDriver: vfDriver === 'none' ? undefined : vfDriver, autoprobe: s.get('autoprobe').bool(true), p2pmem, vfs };
}

export function parseOptionalInt(c: Cursor, key: string, max: number): number | undefined {
  return c.has(key) ? c.get(key).int(undefined, 0, max) : undefined;
}
