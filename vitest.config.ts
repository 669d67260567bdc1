import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file runs in its own child process: patched and unpatched states never mix.
    pool: 'forks',
    testTimeout: 30_000,
    // A test that fails once is run once more; `npm test` names every test that needed it
    // (scripts/retry-reporter.mjs) so a flaky test stays visible, and fails the run if the
    // second try fails too.
    retry: 1,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
