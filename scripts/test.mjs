#!/usr/bin/env node
// `npm test`: install the system packages the suite drives when missing (provision.mjs)
// and the client libraries' newest majors (client-majors.mjs), build, then run the whole
// suite on each supported Node, newest first: Node 26 (the
// `node` devDependency), Node 24 (the `node24` devDependency) and the machine's own Node
// (if >= 20.19). Ends with one line `N passed, N failed` over all runs.
// Extra arguments go to vitest (e.g. `npm test -- test/queue.test.ts`).
// `--loaded` (npm run test:loaded) runs on the primary Node only, with one busy process
// per core for the duration. GREENIO_TEST_NODES picks Nodes: `current` (the Node running
// this script), `primary`, or majors such as `26,20`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provision } from './provision.mjs';
import { ensureClientMajors } from './client-majors.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const loaded = process.argv[2] === '--loaded';
// The loaded run is about timing: test/package (npm pack, installs, the tsc matrix) holds
// no timing and is the suite's longest part, so it runs in the plain runs only.
const args = loaded ? ['--exclude', 'test/package/**', ...process.argv.slice(3)] : process.argv.slice(2);
// Most test time is waiting (servers, child processes, sockets), so every run keeps two
// files going at once even on a 2-core machine (Vitest's default there is one). The loaded
// run too: its files then share the cores with the busy processes and with each other (a
// test gets ~half a core instead of two thirds: more load, not less), and CI stays well
// inside its 30 minutes (the loaded run took 10.5 of its 27 with one file at a time).
if (!args.some((a) => a.startsWith('--maxWorkers'))) args.unshift(`--maxWorkers=${Math.max(2, availableParallelism() - 1)}`);

function versionOf(bin) {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}
const major = (v) => Number(v.replace(/^v/, '').split('.')[0]);
function supported(v) {
  const [maj, min] = v.replace(/^v/, '').split('.').map(Number);
  return maj > 20 || (maj === 20 && min >= 19);
}

function findNodes() {
  const candidates = [join(root, 'node_modules/node/bin/node'), join(root, 'node_modules/node24/bin/node'), process.execPath];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && !dir.includes('node_modules')) candidates.push(join(dir, 'node'));
  }
  const nodes = [];
  for (const bin of candidates) {
    if (!existsSync(bin) || !statSync(bin).isFile()) continue;
    const v = versionOf(bin);
    if (v && supported(v) && !nodes.some((n) => n.version === v)) nodes.push({ bin, version: v });
  }
  return nodes.sort((a, b) => major(b.version) - major(a.version));
}

function pickNodes() {
  const pick = process.env.GREENIO_TEST_NODES ?? (loaded ? 'primary' : 'all');
  if (pick === 'current') return [{ bin: process.execPath, version: process.version }];
  const all = findNodes();
  if (pick === 'all') return all;
  if (pick === 'primary') return all.slice(0, 1);
  const wanted = pick.split(',').map(Number);
  const nodes = all.filter((n) => wanted.includes(major(n.version)));
  const absent = wanted.filter((m) => !nodes.some((n) => major(n.version) === m));
  if (Number.isNaN(wanted[0]) || absent.length > 0) {
    fail(`GREENIO_TEST_NODES=${JSON.stringify(pick)}: no such Node here (found ${all.map((n) => n.version).join(', ')})`);
  }
  return nodes;
}

function fail(message) {
  console.log(`greenio test: ${message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

try {
  provision();
  ensureClientMajors();
} catch (err) {
  fail(err.message);
}

const nodes = pickNodes();
const load = loaded ? availableParallelism() : 0;
console.log(
  `greenio test: building, then running the suite on ${nodes.map((n) => `Node ${n.version}`).join(', ')}` +
    (loaded ? ` under load (${load} busy processes, one per core)` : ''),
);
// A clean build: files of modules since removed must not linger in dist/ (nor in the tarball).
rmSync(join(root, 'dist'), { recursive: true, force: true });
const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) fail('build failed');

// The CPU hog: busy loops that also exit by themselves once this process is gone (their
// parent pid changes), so a killed `npm test` cannot leave them behind.
const hogs = [];
function stopHogs() {
  for (const h of hogs.splice(0)) h.kill('SIGKILL');
}
if (loaded) {
  // The parent pid comes as an argument: a hog still starting when we die would read 1.
  const busy = 'const p = Number(process.argv[1]); for (let i = 1; ; i++) if (i % 5e6 === 0 && process.ppid !== p) process.exit(0);';
  for (let i = 0; i < load; i++) hogs.push(spawn(process.execPath, ['-e', busy, String(process.pid)], { stdio: 'ignore' }));
  process.on('exit', stopHogs);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { stopHogs(); process.exit(1); });
}

function runSuite(bin, out) {
  return new Promise((res) => {
    const reporters = ['--reporter=default', '--reporter=json', `--reporter=${join(root, 'scripts/retry-reporter.mjs')}`];
    const child = spawn(bin, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...reporters, `--outputFile=${out}`, ...args], {
      cwd: root,
      stdio: 'inherit',
      // Child processes started as `node` by tests and examples get this same version.
      // GREENIO_TEST_LOADED: the client tests leave out the other majors (client-majors/)
      // under load, as test/package is left out: they check compatibility, not timing.
      env: { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH}`, GREENIO_RETRY_LOG: `${out}.retried`, ...(loaded ? { GREENIO_TEST_LOADED: '1' } : {}) },
    });
    child.on('close', (status) => res(status));
  });
}

const outDir = join(root, '.test-results');
mkdirSync(outDir, { recursive: true });
let passed = 0;
let failed = 0;
const summary = [];
// Named at the end, where a CI log's tail shows them: each failed test, and each test that
// passed only on its second try (`retry: 1` in vitest.config.ts).
const failures = [];
const retried = [];
// What a describe's hook threw (its tests then show as skipped, with no message).
const hookErrors = [];
const firstLine = (s) => String(s ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? '';
for (const { bin, version } of nodes) {
  const label = `Node ${version}${loaded ? ' under load' : ''}`;
  const out = join(outDir, `${version}${loaded ? '-loaded' : ''}.json`);
  console.log(`\n=== ${label} (${bin})`);
  const t0 = Date.now();
  rmSync(`${out}.retried`, { force: true });
  const status = await runSuite(bin, out);
  let p = 0;
  let f = 0;
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    p = j.numPassedTests;
    f = j.numFailedTests + (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    // A file that failed to load has no test results: count it as one failure.
    for (const file of j.testResults ?? []) {
      const name = relative(root, file.name ?? '');
      if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) {
        f++;
        failures.push(`${label}: ${name}: ${firstLine(file.message)}`);
      }
      for (const t of file.assertionResults ?? []) {
        if (t.status !== 'passed') failures.push(`${label}: ${name} > ${t.fullName} [${t.status}]: ${firstLine(t.failureMessages?.[0])}`);
      }
    }
  } catch {
    f = 1;
    failures.push(`${label}: no JSON report (${out})`);
  }
  try {
    for (const line of readFileSync(`${out}.retried`, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line);
      if (r.hookError !== undefined) {
        hookErrors.push(`${label}: ${relative(root, r.file)} > ${r.name} [its hook threw]: ${r.hookError.replace(/\s*\n\s*/g, ' | ')}`);
        continue;
      }
      retried.push(`${label}: ${relative(root, r.file)} > ${r.name}${r.error ? ` (first try: ${r.error})` : ''}`);
    }
  } catch {}
  if (status !== 0 && f === 0) f = 1;
  passed += p;
  failed += f;
  summary.push(`${label}: ${p} passed, ${f} failed (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
stopHogs();
// One prefixed line each, so .ci/run can gather them from every run to the end of its log.
if (retried.length > 0) console.log(`\n${retried.map((r) => `FLAKY (passed on its second try) ${r}`).join('\n')}`);
if (failures.length > 0) console.log(`\n${failures.map((r) => `FAILED ${r}`).join('\n')}`);
// Last, nearest a truncated log's tail: the cause of a run of skipped tests above.
if (hookErrors.length > 0) console.log(`\n${hookErrors.map((r) => `FAILED ${r}`).join('\n')}`);
console.log(`\n${summary.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
