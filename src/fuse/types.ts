export type * from '../fs-types.js';
