// kernel: (pciutils) dump_init(): what p2pemu import reads from lspci dumps, and the topology it builds from them
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { dumpToTopology } from '../../src/cli/replay/dump-to-topology.js';
import { DumpError, parseLspciDump } from '../../src/cli/replay/lspci-dump.js';

/** A root port 00:01.0 (secondary 01, I/O window b000-bfff, 32-bit I/O) and an endpoint below it with a 16K BAR at fe000000. */
const SMALL = `0000:00:01.0 PCI bridge: Intel Corporation Device 1901 (rev 07) (prog-if 00 [Normal decode])
00: 86 80 01 19 07 04 10 00 07 00 04 06 10 00 81 00
10: 00 00 00 00 00 00 00 00 00 01 01 00 b1 b1 00 20
20: 00 fe 00 fe f1 ff 01 00 00 00 00 00 00 00 00 00
30: 00 00 00 00 88 00 00 00 00 00 00 00 ff 01 10 00

0000:01:00.0 Non-Volatile memory controller: Samsung Electronics Co Ltd Device a808 (prog-if 02 [NVM Express])
	Region 0: Memory at fe000000 (64-bit, non-prefetchable) [size=16K]
	Kernel driver in use: nvme
	IOMMU group: 12
00: 4d 14 08 a8 06 04 10 00 00 02 08 01 10 00 00 00
10: 04 00 00 fe 00 00 00 00 00 00 00 00 00 00 00 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 4d 14 01 a8
30: 00 00 00 00 40 00 00 00 00 00 00 00 ff 01 00 00
`;

describe('reading a dump as lspci -F does', () => {
  test('slot lines with or without a domain, hex lines, the length from the last line; -v text gives sizes, driver, group', () => {
    const [port, nvme] = parseLspciDump(SMALL);
    expect([port!.bus, port!.dev, port!.fn, port!.config.length]).toEqual([0, 1, 0, 64]);
    expect(nvme!.description).toMatch(/^Non-Volatile memory controller: Samsung/);
    expect([nvme!.regionSizes.get(0), nvme!.driver, nvme!.iommuGroup]).toEqual([16384, 'nvme', 12]);
    // a byte no line gives reads ff, as dump.c's buffer starts
    const gap = parseLspciDump('00:02.0 VGA compatible controller: X\n00: 86 80\n20: 01\n')[0]!;
    expect([gap.config.length, gap.config[2], gap.config[0x20]]).toEqual([0x21, 0xff, 0x01]);
  });

  test('a malformed hex line is an error at its line; a function without hex lines too', () => {
    expect(() => parseLspciDump('00:02.0 X\n00: 86 8\n')).toThrow(new DumpError(2, 'malformed hex line (lspci\'s dump reader stops here too): "00: 86 8"'));
    expect(() => parseLspciDump('00:02.0 VGA compatible controller: X\n\tSubsystem: Y\n')).toThrow(/line 1: this function has no hex lines/);
  });

  test('the tree from bridge bus numbers; a bus no bridge leads to is a root bus without a host-bridge function', () => {
    const { hostBridges, assumedSizes } = dumpToTopology(parseLspciDump(SMALL));
    expect(hostBridges.map((h) => [h.domain, h.bus])).toEqual([[0, 0]]);
    const port = hostBridges[0]!.children[0]!;
    expect(port.children.map((c) => c.comment)).toEqual([expect.stringMatching(/^0000:01:00\.0 Non-Volatile/)]);
    // the I/O window as pci_read_bridge_io() reads it; the BAR size from the -v text
    expect(port.resource.find((r) => r.index === 13)).toMatchObject({ start: 0xb000, size: 0x1000 });
    expect(port.children[0]!.resource[0]).toMatchObject({ start: 0xfe000000, size: 16384 });
    expect(assumedSizes).toBe(0);
  });

  test('a PF with VF Enable gets NumVFs VFs; those the dump lacks are made from the capability (real Intel 82576 dump)', () => {
    const text = gunzipSync(readFileSync(join(__dirname, '../data/dumps/intel-82576-sriov.lspci.gz'))).toString();
    const { hostBridges, assumedSizes } = dumpToTopology(parseLspciDump(text));
    const pf = hostBridges[0]!.children[0]!;
    expect(pf.sriov).toMatchObject({ numVfs: 1, vfs: [{ config: undefined }] });
    expect(pf.driver).toBe('igb');
    // VF BAR regions (lines 7 and 10) have no size in the dump: assumed, and no larger than the gap to the next one
    const vfBars = pf.resource.filter((r) => r.index >= 7 && r.index <= 12);
    expect(vfBars.map((r) => r.index)).toEqual([7, 10]);
    expect(vfBars[0]!.start + vfBars[0]!.size).toBeLessThanOrEqual(vfBars[1]!.start);
    expect(assumedSizes).toBe(2);
  });
});
