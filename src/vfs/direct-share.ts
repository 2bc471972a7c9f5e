// What the reader threads need to decide O_DIRECT requests on namespaces
// themselves, published by the main thread whenever it changes: which files'
// mappings hold P2P memory (and their generation), the mount's device, and
// the model's copy of its I/O path (map-type table, namespaces, counter
// slots). Published before the generation word moves, so a reader that sees a
// new generation finds the set that goes with it. The readers load
// direct-classifier.ts with it (the session knows only the module's name).

import type { DataPathShared, DirectClassifierSpec } from '../fs-types.js';
import type { IoPathSnapshot, NvmeIoPath } from '../model/index.js';
import type { FileMemory, P2pMappings } from './p2p-mappings.js';
import { SharedSnapshot } from './shared-snapshot.js';

/** The document reader threads read (direct-classifier.ts). */
export interface DirectDoc {
  generation: number;
  /** the mount's device as /proc/PID/maps prints it; undefined before mounting */
  device: string | undefined;
  files: [number, FileMemory][];
  io: IoPathSnapshot;
}

/** What a reader thread's classifier starts from. */
export interface DirectClassifierData {
  snapshot: SharedArrayBuffer;
  paths: BigInt64Array;
  decided: BigInt64Array;
}

export class DirectShare {
  private readonly snapshot = new SharedSnapshot();
  private ioVersion: string | undefined;
  private device: string | undefined;

  /** @param device the mount's device, once mounted */
  constructor(
    private readonly mappings: P2pMappings,
    private readonly io: NvmeIoPath,
    private readonly mountDevice: () => string | undefined,
  ) {
    // called before the generation moves: publish the one it moves to
    mappings.onChange = () => this.publish(mappings.generation + 1);
  }

  /** The memory the tree shares with the data path: the routing word, the counters, and this classifier. */
  dataPath(): DataPathShared {
    const c = this.io.mirrorCounters;
    const data: DirectClassifierData = { snapshot: this.snapshot.buffer, paths: c.paths, decided: c.decided };
    const classifier: DirectClassifierSpec = { module: new URL('./direct-classifier.js', import.meta.url).href, data };
    return { directCheck: this.mappings.shared, counters: this.io.stats.dataPath, classifier };
  }

  /** Publishes again if the model's part changed (a map type computed, a namespace or provider added) or the mount became known. */
  refresh(): void {
    if (this.io.version !== this.ioVersion || this.mountDevice() !== this.device) this.publish();
  }

  private publish(generation = this.mappings.generation): void {
    this.ioVersion = this.io.version;
    this.device = this.mountDevice();
    const doc: DirectDoc = { generation, device: this.device, files: this.mappings.files(), io: this.io.snapshot() };
    // too large to share: the readers' copy stays older and answers nothing it does not know (they hand those requests here)
    this.snapshot.publish(doc);
  }
}
