export { DriverCore, type DriverCoreEvents } from './driver-core.js';
export { probeAll, probeDevice } from './probe.js';
