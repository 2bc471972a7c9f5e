// Real memory behind the emulated devices: BAR memfds and their views, namespace images, safe files (the only file other layers import).
export * from './bar-store.js';
export * from './bar-view.js';
export * from './fd-io.js';
export * from './namespace-store.js';
export * from './native-error.js';
export * from './punch-hole.js';
export * from './safe-file.js';
export * from './splice.js';
