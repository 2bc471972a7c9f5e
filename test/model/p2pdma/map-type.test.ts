// kernel: calc_map_type_and_dist(), host_bridge_whitelist(), cpu_supports_p2pdma() [PCI-NEXT]
import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { writeConfig } from '../../../src/model/pci/index.js';
import { calcMapTypeAndDist, MAP_TYPE_NAMES, MapType } from '../../../src/model/p2pdma/index.js';

const NOT_LISTED = '0x0998';
const SKYLAKE = '0x2020';
const XEON_E5V3 = '0x2f00'; // REQ_SAME_HOST_BRIDGE

const ep = (kind: string, name: string, extra = '') => `{ kind: ${kind}, name: ${name}${extra} }`;
const rp = (slot: string, acs: string, children: string[]) => `      - { kind: root_port, slot: "${slot}", acs: [${acs}], children: [${children.join(', ')}] }`;
const sw = (ports: [string, string][]) =>
  `{ kind: switch, ports: [${ports.map(([acs, child]) => `{ acs: [${acs}], children: [${child}] }`).join(', ')}] }`;

function topo(opts: { cpu?: string; hb?: string; children: string[]; hb2?: { device: string; children: string[] } }): string {
  let y = `cpu: ${opts.cpu ?? '{ vendor: GenuineIntel, family: 6 }'}\nhost_bridges:\n  - vendor: 0x8086\n    device: ${opts.hb ?? NOT_LISTED}\n    children:\n${opts.children.join('\n')}\n`;
  if (opts.hb2) y += `  - bus: 0x80\n    vendor: 0x8086\n    device: ${opts.hb2.device}\n    children:\n${opts.hb2.children.join('\n')}\n`;
  return y;
}

const switchPair = (dspAcs: string) => [rp('01.0', 'SV, RR, CR, UF', [sw([[dspAcs, ep('nvme', 'a')], ['SV', ep('nic', 'b')]])])];
const twoRootPorts = [rp('01.0', 'SV, RR, CR, UF', [ep('nvme', 'a')]), rp('02.0', 'SV, RR, CR, UF', [ep('nic', 'b')])];

interface Case {
  name: string;
  yaml: string;
  provider: string;
  client: string;
  type: string;
  dist: number;
  log?: RegExp[];
}

const cases: Case[] = [
  { name: 'same function', yaml: topo({ children: [rp('01.0', '', [ep('nvme', 'a')])] }), provider: 'a', client: 'a', type: 'BUS_ADDR', dist: 0 },
  {
    name: 'same function with ACS redirect on itself',
    yaml: topo({ children: [rp('01.0', '', [ep('nvme', 'a', ', acs: [RR]')])] }),
    provider: 'a',
    client: 'a',
    type: 'NOT_SUPPORTED',
    dist: 0,
    log: [/ACS redirect is set between the client and provider \(0000:01:00\.0\)/, /pci=disable_acs_redir=0000:01:00\.0$/, /Host bridge not in P2PDMA whitelist: 8086:0998/],
  },
  {
    name: 'sibling functions of one device',
    yaml: topo({ children: [rp('01.0', 'SV', [ep('nvme', 'a', ', slot: "00.0"'), ep('nic', 'b', ', slot: "00.1"')])] }),
    provider: 'a',
    client: 'b',
    type: 'BUS_ADDR',
    dist: 2,
  },
  {
    name: 'sibling functions, one with ACS redirect, whitelisted host bridge',
    yaml: topo({ hb: SKYLAKE, children: [rp('01.0', 'SV', [ep('nvme', 'a', ', slot: "00.0"'), ep('nic', 'b', ', slot: "00.1", acs: [CR]')])] }),
    provider: 'a',
    client: 'b',
    type: 'THRU_HOST_BRIDGE',
    dist: 2,
  },
  { name: 'two endpoints behind one switch', yaml: topo({ children: switchPair('SV') }), provider: 'a', client: 'b', type: 'BUS_ADDR', dist: 4 },
  {
    name: 'ACS redirect on a downstream port, whitelisted host bridge',
    yaml: topo({ hb: SKYLAKE, children: switchPair('SV, RR, CR') }),
    provider: 'a',
    client: 'b',
    type: 'THRU_HOST_BRIDGE',
    dist: 4,
    log: [/^mlx5_core 0000:04:00\.0: ACS redirect is set between the client and provider \(0000:03:00\.0\)$/],
  },
  {
    name: 'ACS redirect on a downstream port, host bridge not whitelisted',
    yaml: topo({ children: switchPair('SV, RR, CR') }),
    provider: 'a',
    client: 'b',
    type: 'NOT_SUPPORTED',
    dist: 4,
    log: [/^pci 0000:00:00\.0: Host bridge not in P2PDMA whitelist: 8086:0998$/, /do not share an upstream bridge or whitelisted host bridge/],
  },
  {
    name: 'ACS redirect above the common switch does not count',
    yaml: topo({ children: [rp('01.0', 'SV, RR, CR, EC', [sw([['SV', ep('nvme', 'a')], ['SV', ep('nic', 'b')]])])] }),
    provider: 'a',
    client: 'b',
    type: 'BUS_ADDR',
    dist: 4,
  },
  { name: 'two root ports, whitelisted host bridge', yaml: topo({ hb: SKYLAKE, children: twoRootPorts }), provider: 'a', client: 'b', type: 'THRU_HOST_BRIDGE', dist: 4 },
  {
    name: 'two root ports, host bridge not whitelisted',
    yaml: topo({ children: twoRootPorts }),
    provider: 'a',
    client: 'b',
    type: 'NOT_SUPPORTED',
    dist: 4,
    // no common node: ACS is not examined, so no ACS and no whitelist warning
    log: [/^mlx5_core 0000:02:00\.0: cannot be used for peer-to-peer DMA as the client and provider \(0000:01:00\.0\) do not share/],
  },
  {
    name: 'AMD Zen CPU routes through any host bridge',
    yaml: topo({ cpu: '{ vendor: AuthenticAMD, family: 0x19 }', children: twoRootPorts }),
    provider: 'a',
    client: 'b',
    type: 'THRU_HOST_BRIDGE',
    dist: 4,
  },
  {
    name: 'AMD before Zen (family 0x15) gets no CPU rule',
    yaml: topo({ cpu: '{ vendor: AuthenticAMD, family: 0x15 }', children: twoRootPorts }),
    provider: 'a',
    client: 'b',
    type: 'NOT_SUPPORTED',
    dist: 4,
  },
  {
    name: 'Hygon is not AMD for this rule',
    yaml: topo({ cpu: '{ vendor: HygonGenuine, family: 0x18 }', children: twoRootPorts }),
    provider: 'a',
    client: 'b',
    type: 'NOT_SUPPORTED',
    dist: 4,
  },
  {
    name: 'different host bridges, both whitelisted',
    yaml: topo({ hb: SKYLAKE, children: [rp('01.0', '', [ep('nvme', 'a')])], hb2: { device: SKYLAKE, children: [rp('01.0', '', [ep('nic', 'b')])] } }),
    provider: 'a',
    client: 'b',
    type: 'THRU_HOST_BRIDGE',
    dist: 4,
  },
  {
    name: 'different host bridges with a REQ_SAME_HOST_BRIDGE entry',
    yaml: topo({ hb: XEON_E5V3, children: [rp('01.0', '', [ep('nvme', 'a')])], hb2: { device: XEON_E5V3, children: [rp('01.0', '', [ep('nic', 'b')])] } }),
    provider: 'a',
    client: 'b',
    type: 'NOT_SUPPORTED',
    dist: 4,
  },
  {
    name: 'one host bridge with a REQ_SAME_HOST_BRIDGE entry',
    yaml: topo({ hb: XEON_E5V3, children: twoRootPorts }),
    provider: 'a',
    client: 'b',
    type: 'THRU_HOST_BRIDGE',
    dist: 4,
  },
  {
    name: 'RCiEP and an endpoint under a root port',
    yaml: topo({ hb: SKYLAKE, children: [`      - { kind: accelerator, name: a, slot: "05.0" }`, rp('01.0', '', [ep('nic', 'b')])] }),
    provider: 'a',
    client: 'b',
    type: 'THRU_HOST_BRIDGE',
    dist: 3,
  },
  {
    name: 'two functions of one RCiEP go through the host bridge',
    yaml: topo({ children: [`      - { kind: accelerator, name: a, slot: "05.0" }`, `      - { kind: nic, name: b, slot: "05.1" }`] }),
    provider: 'a',
    client: 'b',
    type: 'NOT_SUPPORTED',
    dist: 2,
  },
  {
    name: 'switch endpoint and a root-port endpoint',
    yaml: topo({ hb: SKYLAKE, children: [rp('01.0', '', [sw([['SV', ep('nvme', 'a')]])]), rp('02.0', '', [ep('nic', 'b')])] }),
    provider: 'a',
    client: 'b',
    type: 'THRU_HOST_BRIDGE',
    dist: 6,
  },
];

describe('map type and distance over topologies', () => {
  test.each(cases)('$name: $type, distance $dist', (c) => {
    const m = bootHostModel(parseTopology('t', c.yaml));
    const t = calcMapTypeAndDist(m.pci.find(c.provider)!, m.pci.find(c.client)!, true, { cpu: m.pci.spec.cpu });
    expect([MAP_TYPE_NAMES[t.mapType], t.dist]).toEqual([c.type, c.dist]);
    for (const re of c.log ?? []) expect(t.logLines.some((l) => re.test(l)), `${re} in\n${t.logLines.join('\n')}`).toBe(true);
    if (c.type === 'BUS_ADDR') expect(t.logLines).toEqual([]);
  });
});

describe('the per-provider map-type cache', () => {
  const yaml = topo({ children: [rp('01.0', 'SV', [sw([['SV', ep('p2pmem', 'prov')], ['SV', ep('nic', 'client')]])])] });

  test('is never invalidated: an ACS change by setpci is not seen by the DMA path until rebind', async () => {
    const m = bootHostModel(parseTopology('t', yaml));
    const prov = m.pci.find('prov')!;
    const client = m.pci.find('client')!;
    expect(MAP_TYPE_NAMES[m.p2pdma.mapType(prov, client)]).toBe('BUS_ADDR');
    expect(m.p2pdma.cachedMapType(prov, client)).toEqual({ type: MapType.BUS_ADDR, computedBeforeChange: false });
    const dsp = client.upstream!;
    writeConfig(dsp, 0x106, Buffer.from([0x1d, 0x00])); // SV RR CR UF
    expect(MAP_TYPE_NAMES[m.p2pdma.mapType(prov, client)]).toBe('BUS_ADDR');
    // a fresh computation sees the redirect
    expect(MAP_TYPE_NAMES[calcMapTypeAndDist(prov, client, false, { cpu: m.pci.spec.cpu }).mapType]).toBe('NOT_SUPPORTED');
    // `explain --mount` and `topo --matrix --mount` mark such an entry
    expect(m.p2pdma.cachedMapType(prov, client)).toEqual({ type: MapType.BUS_ADDR, computedBeforeChange: true });
    // unbind + bind: new provider state, empty cache
    await m.drivers.unbind(prov);
    await m.drivers.bind(prov, 'p2pmem_pci');
    expect(MAP_TYPE_NAMES[m.p2pdma.mapType(prov, client)]).toBe('NOT_SUPPORTED');
  });

  test('a pair cached by a silent distance query makes the DMA path silent', () => {
    const m = bootHostModel(parseTopology('t', topo({ children: twoRootPorts.map((r) => r.replace('nvme', 'p2pmem')) })));
    const prov = m.pci.find('a')!;
    const client = m.pci.find('b')!;
    expect(m.p2pdma.distanceMany(prov, [client], false)).toBe(-1);
    const before = m.klog.all().length;
    m.p2pdma.mapType(prov, client);
    expect(m.klog.all().length).toBe(before);
  });

  test('find_many picks the provider with the smallest distance', () => {
    const y = topo({
      hb: SKYLAKE,
      children: [rp('01.0', '', [sw([['SV', ep('p2pmem', 'near')], ['SV', ep('nic', 'client')]])]), rp('02.0', '', [ep('p2pmem', 'far')])],
    });
    const m = bootHostModel(parseTopology('t', y));
    expect(m.p2pdma.findMany([m.pci.find('client')!])?.name).toBe('near');
  });
});
