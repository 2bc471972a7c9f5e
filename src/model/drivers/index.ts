export { DriverCore, type DriverCoreEvents } from './driver-core.js';
export { probeDevice } from './probe.js';
export { SRIOV_CONFIGURE_DRIVERS } from './sriov-control.js';
