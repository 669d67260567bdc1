// A Vitest reporter for `npm test`: writes the tests that passed only on their second try
// (vitest.config.ts sets `retry: 1`) to the file named by GREENIO_RETRY_LOG, one JSON line
// each, so the summary can name them. A retried test still counts as passed; naming it
// keeps a flaky test visible instead of hidden, and its first try's error (Vitest keeps the
// errors of earlier tries on a passed result) says why it failed. It also writes each error a
// describe's own hooks threw (a failed beforeAll): Vitest's JSON report drops those and just
// marks the describe's tests skipped, so without this a CI log would not say why. It cannot
// see tests of a file that failed to load (those are counted from the JSON report).
import { appendFileSync } from 'node:fs';

export default class RetryReporter {
  onTestCaseResult(testCase) {
    const log = process.env.GREENIO_RETRY_LOG;
    const d = testCase.diagnostic();
    if (!log || !d || d.retryCount === 0 || testCase.result().state !== 'passed') return;
    const first = testCase.result().errors?.[0];
    const error = first ? `${first.name ?? 'Error'}: ${first.message ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '').replace(/\s+/g, ' ').slice(0, 400) : '';
    appendFileSync(log, `${JSON.stringify({ file: testCase.module.moduleId, name: testCase.fullName, retries: d.retryCount, error })}\n`);
  }

  onTestSuiteResult(testSuite) {
    const log = process.env.GREENIO_RETRY_LOG;
    if (!log) return;
    for (const e of testSuite.errors()) {
      const hookError = `${e.name ?? 'Error'}: ${e.message ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '').slice(0, 3000);
      appendFileSync(log, `${JSON.stringify({ file: testSuite.module.moduleId, name: testSuite.fullName, hookError })}\n`);
    }
  }
}
