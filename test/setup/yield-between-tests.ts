// Mount tests are synchronous (spawnSync): a file of them keeps the worker's event
// loop busy from one test to the next, and vitest's progress messages to the main
// process, sent without waiting, then time out after 60 s as "Timeout calling
// onTaskUpdate" — an unhandled error that fails the run. A full turn of the event
// loop (through its poll phase) before each test lets those answers in.
import { beforeEach } from 'vitest';

const turn = () => new Promise<void>((res) => setImmediate(res));

beforeEach(async () => {
  await turn();
  await turn();
});
