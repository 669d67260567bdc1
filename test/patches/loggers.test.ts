// Loggers under the patch, as users run them: pino's async destination and winston's File
// transport, written to by 50 greenlets that are all killed, or all time out, mid-logging
// (test/fixtures/loggers-kill.ts, a process per interrupt). A kill ends the greenlet, never
// the write it queued: every line logged is in the file, whole and once, with no error.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';

describe.each(['kill', 'timeout'] as const)('loggers written to by greenlets that are interrupted (%s)', (how) => {
  let out: Record<string, unknown> | undefined;
  const run = (): Record<string, unknown> => (out ??= runFixture('loggers-kill.ts', [how]).json);

  it.each(['pino', 'winston'])('%s: every line logged is in the file, whole and once; no error', (logger) => {
    const r = run()[logger] as { logged: number; lines: number; unique: number; whole: boolean; errors: number };
    expect(r.logged).toBeGreaterThan(100); // the storm ran before the interrupt
    expect(r).toEqual({ logged: r.logged, lines: r.logged, unique: r.logged, whole: true, errors: 0 });
  }, 60_000);
});
