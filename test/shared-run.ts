/**
 * One run (a fixture's process, typically) shared by every test of a describe, made in
 * `beforeAll`, with Vitest's `retry: 1` still covering it. A failing `beforeAll` is not
 * retried by Vitest: it skips every test of its describe on one bad try (CI lost a whole
 * postgres.js describe so, under load). Here the run's failure is kept instead; the first
 * test's `beforeEach` throws it (that try fails, and the retry reporter names the test),
 * its retry runs it once more, and every later test gets that second outcome. Limits: one
 * rerun per describe, never more; a run that fails twice fails each test with its error.
 */
import { beforeAll, beforeEach } from 'vitest';

type State<T> = { kind: 'ok'; value: T } | { kind: 'failed once' | 'rerun' | 'failed'; error: unknown };

/**
 * Run `run` before the describe's tests; the returned getter gives its value inside them.
 * `timeoutMs` bounds each try (in `beforeAll`, and in the `beforeEach` that reruns it).
 */
export function sharedRun<T>(run: () => T | Promise<T>, timeoutMs: number): () => T {
  let state: State<T> | undefined;
  const attempt = async (failed: 'failed once' | 'failed'): Promise<State<T>> => {
    try {
      state = { kind: 'ok', value: await run() };
    } catch (error) {
      state = { kind: failed, error };
    }
    return state;
  };
  beforeAll(async () => void (await attempt('failed once')), timeoutMs);
  beforeEach(async () => {
    const s = state?.kind === 'rerun' ? await attempt('failed') : state;
    if (s === undefined || s.kind === 'ok') return;
    // The first failure fails this try only; the retry of this same test reruns.
    if (s.kind === 'failed once') state = { kind: 'rerun', error: s.error };
    throw s.error;
  }, timeoutMs);
  return () => {
    if (state?.kind !== 'ok') throw new Error('sharedRun: read outside a test of its describe, or its run failed');
    return state.value;
  };
}
