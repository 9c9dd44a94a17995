import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'emulator',
          include: ['emulator/test/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'contracts',
          include: ['contracts/test/**/*.test.ts'],
          globalSetup: ['contracts/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'sample-app',
          include: ['sample-app/test/**/*.test.ts'],
          testTimeout: 30_000,
          // Docker-backed suites pull and start SQL Server and build the emulator image.
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'testcontainers',
          include: ['testcontainers/test/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
