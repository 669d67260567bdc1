#!/usr/bin/env node
// `npm test`: build, then run the whole suite on every supported Node found (the Node 24
// of the `node` devDependency that npm puts first on PATH, and the machine's own Node,
// if it is >= 20.19), and end with one line `N passed, N failed` over all of them.
// Extra arguments go to vitest (e.g. `npm test -- test/queue.test.ts`).
// GREENIO_TEST_NODES=current runs only the Node running this script.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

function versionOf(bin) {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}
function supported(v) {
  const [maj, min] = v.replace(/^v/, '').split('.').map(Number);
  return maj > 20 || (maj === 20 && min >= 19);
}

const nodes = [{ bin: process.execPath, version: process.version }];
if (process.env.GREENIO_TEST_NODES !== 'current') {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    const bin = join(dir, 'node');
    if (!existsSync(bin) || !statSync(bin).isFile()) continue;
    const v = versionOf(bin);
    if (v && supported(v) && !nodes.some((n) => n.version === v)) nodes.push({ bin, version: v });
  }
}

console.log(`greenio test: building, then running the suite on ${nodes.map((n) => `Node ${n.version}`).join(' and ')}`);
const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const outDir = join(root, '.test-results');
mkdirSync(outDir, { recursive: true });
let passed = 0;
let failed = 0;
const summary = [];
for (const { bin, version } of nodes) {
  const out = join(outDir, `${version}.json`);
  console.log(`\n=== Node ${version} (${bin})`);
  const t0 = Date.now();
  const r = spawnSync(bin, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...args], {
    cwd: root,
    stdio: 'inherit',
    // Child processes started as `node` by tests and examples get this same version.
    env: { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH}` },
  });
  let p = 0;
  let f = 0;
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    p = j.numPassedTests;
    f = j.numFailedTests + (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    // A file that failed to load has no test results: count it as one failure.
    for (const file of j.testResults ?? []) if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) f++;
  } catch {
    f = 1;
  }
  if (r.status !== 0 && f === 0) f = 1;
  passed += p;
  failed += f;
  summary.push(`Node ${version}: ${p} passed, ${f} failed (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
console.log(`\n${summary.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
