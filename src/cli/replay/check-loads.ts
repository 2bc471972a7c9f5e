// A recording or an import is checked the way every command loads a
// topology (parsed, enumerated, drivers probed), so a file that would not
// mount says why at once.

import { parseTopology } from '../../config/index.js';
import { TopologyError } from '../../config/index.js';
import { bootHostModel } from '../../model/index.js';

/** 0 when the topology boots; else one warning line and 1 (the file is kept, to be edited). */
export function checkLoads(file: string, yaml: string): number {
  try {
    bootHostModel(parseTopology(file, yaml));
    return 0;
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    console.error(`p2pemu: warning: the topology written does not load: ${err.message}`);
    return 1;
  }
}
