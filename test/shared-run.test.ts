// sharedRun (test/shared-run.ts) in a real Vitest child run with the suite's retry: 1:
// a run that fails once costs its first test one retry and nothing else; one that fails
// twice fails every test with its own error; one that never fails runs once. And npm
// test's reporter (scripts/retry-reporter.mjs) keeps what a plain beforeAll threw.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = tempDir('greenio-shared-run-');
afterAll(() => tmp.cleanup());

interface Result { title: string; status: string; failureMessages: string[] }
const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);
let runs = 0;

/** The child run: how many tries the run made, each test's result, and the tests npm test's retry reporter names. */
function childRun(fails: number, file = 'three'): { tries: number; tests: Result[]; retried: string[] } {
  const dir = join(tmp.dir, String(runs++)); // this test's own retry starts afresh
  mkdirSync(dir);
  const [log, report, retried] = [join(dir, 'tries'), join(dir, 'report.json'), join(dir, 'retried')];
  const reporters = ['--reporter=json', `--outputFile=${report}`, '--reporter=./scripts/retry-reporter.mjs'];
  const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/shared-run/vitest.config.ts', `test/fixtures/shared-run/${file}.vitest.ts`, ...reporters], {
    cwd: root,
    env: { ...process.env, SHARED_RUN_FAILS: String(fails), SHARED_RUN_LOG: log, GREENIO_RETRY_LOG: retried, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.error).toBeUndefined();
  const j = JSON.parse(readFileSync(report, 'utf8')) as { testResults: { assertionResults: Result[] }[] };
  return {
    tries: lines(log).length,
    tests: j.testResults.flatMap((f) => f.assertionResults),
    retried: lines(retried).map((l) => {
      const { name, error, hookError } = JSON.parse(l) as { name: string; error?: string; hookError?: string };
      return hookError === undefined ? `${name}: ${error}` : `${name} [hook]: ${hookError}`;
    }),
  };
}

describe('sharedRun under retry: 1, and what npm test reports', () => {
  it('a run that never fails runs once; every test passes on its first try', () => {
    const { tries, tests, retried } = childRun(0);
    expect(tries).toBe(1);
    expect(tests.map((t) => [t.title, t.status])).toEqual([['first', 'passed'], ['second', 'passed'], ['third', 'passed']]);
    expect(retried).toEqual([]);
  });

  it('a run that fails once is run again in the first test\'s retry; the others pass on their first try', () => {
    const { tries, tests, retried } = childRun(1);
    expect(tries).toBe(2);
    expect(tests.map((t) => [t.title, t.status])).toEqual([['first', 'passed'], ['second', 'passed'], ['third', 'passed']]);
    // npm test names it, with the first try's error.
    expect(retried).toEqual(['three tests on one run > first: Error: the run failed on try 1']);
  });

  it('a run that fails twice fails every test with its error, and is not run a third time', () => {
    const { tries, tests } = childRun(2);
    expect(tries).toBe(2);
    expect(tests.map((t) => t.status)).toEqual(['failed', 'failed', 'failed']);
    expect(tests[0]!.failureMessages.join('\n')).toContain('the run failed on try 2');
    expect(tests[2]!.failureMessages.join('\n')).toContain('the run failed on try 2');
  });

  it("without it, a failed beforeAll skips its tests with no message in Vitest's JSON report; npm test's reporter keeps the error", () => {
    const { tries, tests, retried } = childRun(0, 'hook');
    expect(tries).toBe(0);
    expect(tests.map((t) => [t.status, t.failureMessages])).toEqual([['skipped', []], ['skipped', []]]);
    expect(retried).toEqual(['a describe whose beforeAll throws [hook]: Error: the fixture printed no JSON\n--- stderr ---\nError: the query never became active']);
  });
});
