// Topologies: the schema, the embedded default, parsing and validation (the only file other layers import).
export * from './spec.js';
export * from './sizes.js';
export * from './cmb-units.js';
export * from './default-topology.js';
export * from './parse-topology.js';
export * from './topology-error.js';
export * from './write-topology.js';
