import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Both cores: the slow tests are single-threaded guest boots (vitest's default leaves one core idle).
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
  },
});
