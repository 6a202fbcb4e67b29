import { defineConfig } from 'vitest/config';

// Tests import the package's own exports ('plexus/client') from src/, never from a build.
// (The rest is Vite's default server list.)
const conditions = ['plexus-source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['plexus-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: integration tests start real daemons; keep files from starving each other.
    maxWorkers: 2,
    pool: 'forks',
  },
});
