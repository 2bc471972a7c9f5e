// kernel: calc_map_type_and_dist() [PCI-NEXT] with pci_upstream_bridge(): a VF's path starts at its PF's upstream bridge
import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { calcMapTypeAndDist, MAP_TYPE_NAMES } from '../../../src/model/p2pdma/index.js';

const NOT_LISTED = '0x0998';
const SKYLAKE = '0x2020';

/** A PF with 2 VFs enabled at boot; offset 256 puts its VFs on the next bus (a virtual bus). */
const pf = (name: string, offset = 1) =>
  `{ kind: nic, name: ${name}, sriov: { total_vfs: 4, vf_device: 0x101e, offset: ${offset}, stride: 1, vf_bars: [{ index: 0, size: 2MiB }], num_vfs: 2 } }`;
const nvme = '{ kind: nvme, name: other }';
const rp = (slot: string, acs: string, child: string) => `      - { kind: root_port, slot: "${slot}", acs: [${acs}], children: [${child}] }`;
const sw = (pfPortAcs: string, otherPortAcs = 'SV') =>
  `{ kind: switch, ports: [{ acs: [${pfPortAcs}], children: [${pf('pf')}] }, { acs: [${otherPortAcs}], children: [${nvme}] }] }`;

const topo = (hb: string, children: string[]) =>
  `cpu: { vendor: GenuineIntel, family: 6 }\nhost_bridges:\n  - vendor: 0x8086\n    device: ${hb}\n    children:\n${children.join('\n')}\n`;

interface Case {
  name: string;
  yaml: string;
  provider: string;
  client: string;
  type: string;
  dist: number;
  log?: RegExp;
}

const underSwitch = (hb: string, acs: string) => topo(hb, [rp('01.0', 'SV, RR, CR, UF', sw(acs))]);
const underRootPort = (hb: string, acs: string, offset = 1) => topo(hb, [rp('01.0', acs, pf('pf', offset)), rp('02.0', 'SV, RR, CR, UF', nvme)]);

const cases: Case[] = [
  { name: 'VF↔VF of one PF under a switch port', yaml: underSwitch(NOT_LISTED, 'SV'), provider: 'pfv0', client: 'pfv1', type: 'BUS_ADDR', dist: 2 },
  { name: 'VF↔PF under a switch port', yaml: underSwitch(NOT_LISTED, 'SV'), provider: 'pfv1', client: 'pf', type: 'BUS_ADDR', dist: 2 },
  { name: 'VF↔endpoint behind another port of the switch', yaml: underSwitch(NOT_LISTED, 'SV'), provider: 'pfv0', client: 'other', type: 'BUS_ADDR', dist: 4 },
  {
    name: 'VF↔VF, ACS redirect on the switch port, whitelisted host bridge',
    yaml: underSwitch(SKYLAKE, 'SV, RR, CR, UF'),
    provider: 'pfv0',
    client: 'pfv1',
    type: 'THRU_HOST_BRIDGE',
    dist: 2,
    log: /pci=disable_acs_redir=0000:02:00\.0$/,
  },
  { name: 'VF↔VF, ACS redirect on the switch port, host bridge not whitelisted', yaml: underSwitch(NOT_LISTED, 'SV, RR, CR, UF'), provider: 'pfv0', client: 'pfv1', type: 'NOT_SUPPORTED', dist: 2 },
  { name: 'VF↔endpoint, ACS redirect on the VF side', yaml: underSwitch(SKYLAKE, 'SV, RR'), provider: 'other', client: 'pfv1', type: 'THRU_HOST_BRIDGE', dist: 4 },
  { name: 'VF↔VF of one PF under a root port without ACS', yaml: underRootPort(NOT_LISTED, 'SV'), provider: 'pfv0', client: 'pfv1', type: 'BUS_ADDR', dist: 2 },
  { name: 'VF↔PF under a root port with ACS redirect', yaml: underRootPort(SKYLAKE, 'SV, RR, CR, UF'), provider: 'pf', client: 'pfv0', type: 'THRU_HOST_BRIDGE', dist: 2 },
  { name: 'VF↔VF under a root port with ACS redirect, not whitelisted', yaml: underRootPort(NOT_LISTED, 'SV, RR, CR, UF'), provider: 'pfv1', client: 'pfv0', type: 'NOT_SUPPORTED', dist: 2 },
  { name: 'VF↔endpoint under another root port, whitelisted', yaml: underRootPort(SKYLAKE, 'SV'), provider: 'pfv0', client: 'other', type: 'THRU_HOST_BRIDGE', dist: 4 },
  { name: 'VF↔endpoint under another root port, not whitelisted', yaml: underRootPort(NOT_LISTED, 'SV'), provider: 'other', client: 'pfv0', type: 'NOT_SUPPORTED', dist: 4 },
  { name: 'VFs on a virtual bus still go through the PF’s root port', yaml: underRootPort(NOT_LISTED, 'SV', 256), provider: 'pfv0', client: 'pf', type: 'BUS_ADDR', dist: 2 },
  {
    name: 'VFs of a PF on the root bus have no upstream bridge',
    yaml: topo(SKYLAKE, [`      - { kind: nic, name: pf, slot: "05.0", sriov: { total_vfs: 4, vf_device: 0x101e, offset: 1, stride: 1, num_vfs: 2 } }`]),
    provider: 'pfv0',
    client: 'pfv1',
    type: 'THRU_HOST_BRIDGE',
    dist: 2,
  },
];

describe('map type and distance with VFs', () => {
  test.each(cases)('$name: $type, distance $dist', (c) => {
    const m = bootHostModel(parseTopology('t', c.yaml));
    const t = calcMapTypeAndDist(m.pci.find(c.provider)!, m.pci.find(c.client)!, true, { cpu: m.pci.spec.cpu });
    expect([MAP_TYPE_NAMES[t.mapType], t.dist]).toEqual([c.type, c.dist]);
    if (c.log) expect(t.logLines.some((l) => c.log!.test(l)), t.logLines.join('\n')).toBe(true);
  });

  test('a VF on a virtual bus is numbered past its PF’s bus, inside the root port’s bus range', () => {
    const m = bootHostModel(parseTopology('t', underRootPort(NOT_LISTED, 'SV', 256)));
    const [pfDev, vf, port] = ['pf', 'pfv1', 'rp0'].map((n) => m.pci.find(n)!);
    expect([pfDev!.bus, vf!.bus, vf!.devfn]).toEqual([1, 2, 1]);
    expect(port!.config[0x1a]).toBeGreaterThanOrEqual(2); // subordinate bus covers the VF bus
  });
});
