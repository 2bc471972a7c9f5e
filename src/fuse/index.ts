// The FUSE session and mount mechanics, as the daemon sees them (the only file other layers import).
export * from './mount.js';
export * from './session.js';
