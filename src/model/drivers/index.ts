export { DriverCore, type DriverCoreEvents } from './driver-core.js';
export { probeDevice } from './probe.js';
