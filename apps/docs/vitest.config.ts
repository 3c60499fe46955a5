import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // the e2e test serves the built site and drives one browser: keep files in sequence
    fileParallelism: false,
  },
});
