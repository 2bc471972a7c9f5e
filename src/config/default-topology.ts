// The embedded default topology: small, but every P2PDMA rule shows up in it.
//  - nvme0/nvme1 share a switch: BUS_ADDR, distance 4.
//  - p2pmem0 sits behind a downstream port with ACS redirect: host-bridge path,
//    and its host bridge (8086:0998) is not on the whitelist: NOT_SUPPORTED,
//    with the ACS and whitelist warnings.
//  - nvme2 is under another root port of the same host bridge: NOT_SUPPORTED.
//  - accel0 and nic0 are under two root ports of a whitelisted Skylake-E host
//    bridge (8086:2020): THRU_HOST_BRIDGE.
//  - anything across the two host bridges: NOT_SUPPORTED (both must be listed).

export const DEFAULT_TOPOLOGY_NAME = '<default topology>';

export const DEFAULT_TOPOLOGY_YAML = `# p2pemu default topology (print it with: p2pemu topo --dump-default)
name: default
cpu: { vendor: GenuineIntel, family: 6, model: 0x6a }
iommu: false
numa:
  - { node: 0, cpus: 0-7 }
  - { node: 1, cpus: 8-15 }
host_bridges:
  - name: hb0
    domain: 0
    bus: 0x00
    vendor: 0x8086
    device: 0x0998          # not on the P2PDMA whitelist
    numa_node: 0
    children:
      - kind: root_port
        name: rp0
        slot: "01.0"
        acs: [SV, RR, CR, UF]
        link: { speed: 16, width: 16 }
        children:
          - kind: switch
            name: sw0
            ports:
              - slot: "00.0"
                name: sw0p0
                acs: [SV]
                children:
                  - kind: nvme
                    name: nvme0
                    cmb: { size: 64MiB, bar: 2, flags: [SQS, RDS, WDS] }
              - slot: "01.0"
                name: sw0p1
                acs: [SV]
                children:
                  - kind: nvme
                    name: nvme1
                    cmb: { size: 64MiB, bar: 2, flags: [SQS, RDS, WDS] }
              - slot: "02.0"
                name: sw0p2
                acs: [SV, RR, CR, UF]
                children:
                  - kind: p2pmem
                    name: p2pmem0
      - kind: root_port
        name: rp1
        slot: "02.0"
        acs: [SV, RR, CR, UF]
        link: { speed: 16, width: 4 }
        children:
          - kind: nvme
            name: nvme2
  - name: hb1
    domain: 0
    bus: 0x80
    vendor: 0x8086
    device: 0x2020          # Skylake-E: on the whitelist
    numa_node: 1
    children:
      - kind: root_port
        name: rp2
        slot: "01.0"
        acs: [SV, RR, CR, UF]
        link: { speed: 32, width: 16 }
        children:
          - kind: accelerator
            name: accel0
            bars:
              - { index: 0, size: 16MiB, bits: 32, prefetch: false }
              - { index: 1, size: 32GiB }
              - { index: 3, size: 32MiB }
      - kind: root_port
        name: rp3
        slot: "02.0"
        acs: [SV, RR, CR, UF]
        children:
          - kind: nic
            name: nic0
`;
