// A CommonJS config on purpose: Vite loads an ESM config by writing a bundled copy
// under node_modules/.vite-temp, which an unprivileged user cannot do in a
// root-owned checkout; a CommonJS one is compiled in memory. The cache goes to a
// per-user temp directory for the same reason, so `npx vitest run test/model`
// works as nobody (README, "Developing").
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  cacheDir: join(tmpdir(), `p2pemu-vitest-${process.getuid?.() ?? 'user'}`),
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/yield-between-tests.ts'],
    // Mount tests start daemons and real processes: two files at a time is what 2 cores take.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
