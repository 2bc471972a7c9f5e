// Recorded functions in a topology: config bytes as lspci -xxx lines, the keys they make redundant refused, FILE:LINE:COL errors.
import { describe, expect, test } from 'vitest';
import { formatConfigHex, parseConfigHex } from '../../src/config/raw-config.js';
import { parseTopology } from '../../src/config/parse-topology.js';
import { bootHostModel } from '../../src/model/host-model.js';

/** A host bridge's first 16 bytes: 8086:2020, class 060000. */
const HOST_BRIDGE = '00: 86 80 20 20 06 04 10 00 04 00 00 06 00 00 00 00';
const topo = (fn: string, cfg = HOST_BRIDGE) =>
  `host_bridges:\n  - function: none\n    children:\n      - kind: function\n        slot: "00.0"\n        config: |\n          ${cfg}\n        config_size: 4096\n${fn}`;
const errorOf = (yaml: string) => {
  try {
    parseTopology('t.yaml', yaml);
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
};

describe('config: bytes', () => {
  test('hex lines round-trip; lines left out are zeros; the size is the next of 64, 256, 4096', () => {
    const b = parseConfigHex('00: 01 02\n40: ff', undefined) as Buffer;
    expect(b.length).toBe(256);
    expect([b[0], b[1], b[2], b[0x40]]).toEqual([1, 2, 0, 0xff]);
    expect(formatConfigHex(b)).toBe('00: 01 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n40: ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n');
    expect(parseConfigHex('00: 01\n00: 02', undefined)).toEqual({ line: 2, problem: 'config byte 0x0 is given twice' });
  });

  test('a function: none root bus holds a function at 00.0 whose IDs, class and role come from its bytes', () => {
    const m = bootHostModel(parseTopology('t.yaml', topo('')));
    const d = m.pci.find('0000:00:00.0')!;
    expect([d.ids.vendor, d.ids.device, d.ids.classCode, d.role, d.cfgSize]).toEqual([0x8086, 0x2020, 0x060000, 'host_bridge', 4096]);
  });

  test.each([
    ['a malformed hex line, at its own line and column', topo('', `${HOST_BRIDGE}\n          10: 04 zz`), /^t\.yaml:8:11: host_bridges\[0\]\.children\[0\]\.config: bad config line "10: 04 zz"/],
    ['a key the bytes already hold', topo('        vendor: 0x8086\n'), /^t\.yaml:9:17: .*vendor: vendor is read from config; edit the bytes instead/],
    ['an SR-IOV capability key beside config', topo('        sriov: { total_vfs: 4 }\n'), /^t\.yaml:9:29: .*sriov\.total_vfs: total_vfs is read from the SR-IOV capability in config/],
    ['a config size no function has', topo('').replace('config_size: 4096', 'config_size: 512'), /^t\.yaml:8:22: .*config_size must be one of 64, 256, 4096, not 512/],
    ['resource lines without config', 'host_bridges:\n  - children:\n      - kind: nic\n        resource: ["0 0 0"]\n', /^t\.yaml:4:19: .*resource lines go with a recorded config/],
    ['slot 00.0 beside a host bridge that has its own function', 'host_bridges:\n  - children:\n      - kind: nic\n        slot: "00.0"\n', /^t\.yaml:4:15: .*slot 00\.0 of a root bus is the host bridge itself/],
  ])('%s', (_name, yaml, re) => {
    expect(errorOf(yaml)).toMatch(re);
  });
});
