/**
 * greenio/testing: helpers for Vitest, Jest and `node:test` alike, through plain
 * functions and the runner's own hooks (no runner is imported): leak checks, a run-info
 * dump when a test hangs, and a virtual clock. No side effects on import.
 */
export { expectNoLeaks, installLeakCheck, LeakError, type Leak, type LeakCheckOptions, type TestHooks } from './leaks.js';
export { withTestTimeout, installTimeoutDump, TestTimeoutError, type TimeoutDumpOptions } from './timeout-dump.js';
export { withVirtualTime, VirtualTimeError, type VirtualClock, type VirtualTimeOptions } from './virtual-time.js';
