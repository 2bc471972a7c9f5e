// A what-if copy of a live machine: the same topology brought to the live
// state, so reports that export, attach and cache never touch the live one.
import { describe, expect, test } from 'vitest';
import { loadTopology } from '../../src/config/parse-topology.js';
import { bootHostModel, mirrorHostModel } from '../../src/model/host-model.js';
import { acsCapOffset, writeConfig } from '../../src/model/pci/index.js';

describe('mirrorHostModel', () => {
  test('removals, unbinds and setpci of the live machine are in the mirror; work on the mirror leaves the live one as it was', async () => {
    const live = bootHostModel(loadTopology(undefined));
    await live.drivers.remove(live.pci.find('p2pmem0')!);
    await live.drivers.unbind(live.pci.find('nvme2')!);
    const sw0p0 = live.pci.find('sw0p0')!;
    writeConfig(sw0p0, acsCapOffset(sw0p0)! + 6, Buffer.from([0x1d, 0x00])); // SV RR CR UF
    const m = await mirrorHostModel(live);
    expect(m.pci.find('p2pmem0')).toBeUndefined();
    expect(m.pci.find('nvme2')!.driver).toBeUndefined();
    expect(m.pci.find('nvme0')!.driver).toBe('nvme');
    expect(m.pci.find('sw0p0')!.acsCtrl).toBe(0x1d);
    const liveAvail = live.p2pdma.providerOf(live.pci.find('accel0')!)!.pool.avail;
    m.p2pdma.allocKernel(m.pci.find('accel0')!, 1 << 20);
    m.p2pdma.mapType(m.pci.find('nvme1')!, m.pci.find('nvme0')!);
    expect(live.p2pdma.providerOf(live.pci.find('accel0')!)!.pool.avail).toBe(liveAvail);
    expect(live.p2pdma.cachedMapType(live.pci.find('nvme1')!, live.pci.find('nvme0')!)).toBeUndefined();
  });
});
