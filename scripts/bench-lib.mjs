// What scripts/bench.mjs and scripts/bench-guard.mjs share: finding the Node binaries,
// describing a bench file, running one variant (or one Python gevent anchor) in its own
// process, and turning medians into ratios with their goals. Linux/Debian only for the
// gevent part (python3-gevent is installed with apt-get when missing, if we may).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const geventDir = resolve(root, '../shared/bench/gevent');
const python = '/usr/bin/python3'; // Debian's interpreter: the one python3-gevent installs into

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
export const major = (v) => Number(v.slice(1).split('.')[0]);

function versionOf(bin) {
  try { return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(); } catch { return null; }
}

/** Node 26 (the `node` devDependency), 24 (`node24`) and the machine's >= 20.19, newest first. */
export function findNodes(wanted = process.env.GREENIO_BENCH_NODES) {
  const candidates = [join(root, 'node_modules/node/bin/node'), join(root, 'node_modules/node24/bin/node'), process.execPath];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && !dir.includes('node_modules')) candidates.push(join(dir, 'node'));
  let nodes = [];
  for (const bin of candidates) {
    if (!existsSync(bin) || !statSync(bin).isFile()) continue;
    const v = versionOf(bin);
    const [maj, min] = (v ?? 'v0.0').slice(1).split('.').map(Number);
    if (v && (maj > 20 || (maj === 20 && min >= 19)) && !nodes.some((n) => n.version === v)) nodes.push({ bin, version: v });
  }
  nodes.sort((a, b) => major(b.version) - major(a.version)); // Node 26 first: the headline
  if (wanted) {
    const majors = String(wanted).split(',').map(Number);
    nodes = nodes.filter((n) => majors.includes(major(n.version)));
  }
  return nodes;
}

export function build() {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // The workloads run this build (bench/_dist.mjs): a stale one would be measured silently.
  if (r.status !== 0) throw new Error(`bench: \`tsc -p tsconfig.build.json\` failed (status ${r.status})`);
}

/** The workload's spec (variants by name, ratios, gevent anchor) as its file prints it. */
export function describe(path) {
  const d = spawnSync(process.execPath, ['--import', 'tsx', path, '--describe'], { cwd: root, encoding: 'utf8' });
  if (d.status !== 0) throw new Error(`bench ${path}: cannot describe\n${d.stderr}`);
  return JSON.parse(d.stdout.trim().split('\n').pop());
}

/**
 * The loaders a workload runs under (bench, bench:guard and bench:profile alike): greenio
 * as users run it, the workload's imports of src/ and patches/ loading dist/ (built by
 * build(); bench/_dist.mjs says why). BENCH_SRC=1 measures the sources through tsx instead.
 */
export const loaderArgs = () => ['--import', 'tsx', ...(process.env.BENCH_SRC === '1' ? [] : ['--import', pathToFileURL(join(root, 'bench/_dist.mjs')).href])];

/** Run one variant in a fresh process on `bin`; its metrics, or null (reason on stderr). */
export function runVariant(bin, path, spec, variant, env = {}) {
  const p = spawnSync(bin, [...loaderArgs(), ...(spec.nodeArgs ?? []), path, '--variant', variant], {
    cwd: root, encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, ...env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH}` },
  });
  const line = p.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (p.status !== 0 || !line) {
    console.error(`bench ${spec.name}/${variant} on ${versionOf(bin)} failed:\n${(p.stderr ?? '').slice(-2000)}`);
    return null;
  }
  return JSON.parse(line);
}

let geventReady;
/** True when Debian's python3 can import gevent, installing python3-gevent once if we may. */
export function ensureGevent() {
  if (geventReady !== undefined) return geventReady;
  const ok = () => spawnSync(python, ['-c', 'import gevent'], { stdio: 'ignore' }).status === 0;
  if (!ok()) {
    console.error('bench: installing python3-gevent with apt-get (the Python gevent anchors run in the same bench run)');
    const r = spawnSync('sh', ['-c', 'apt-get install -y python3-gevent >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y python3-gevent >/dev/null 2>&1)'], { stdio: 'inherit' });
    if (r.status !== 0 || !ok()) console.error('bench: could not install python3-gevent (run `apt-get install -y python3-gevent` as root); gevent ratios are left out');
  }
  geventReady = ok();
  return geventReady;
}

/** `key`, `1e6/key`, `1000*key` or `N/key` over one gevent JSON result. */
function evaluate(expr, r) {
  const term = (t) => (/^[\d.e+]+$/.test(t) ? Number(t) : r[t]);
  const m = /^([\w.+]+)\s*([*/])\s*(\w+)$/.exec(expr);
  if (!m) return term(expr);
  return m[2] === '*' ? term(m[1]) * term(m[3]) : term(m[1]) / term(m[3]);
}

/** Run the workload's gevent script once; its anchors' metrics by anchor name, or null. */
export function runGevent(spec, env = {}) {
  if (!spec.gevent || !ensureGevent()) return null;
  const p = spawnSync(python, [join(geventDir, spec.gevent.script)], {
    cwd: '/tmp', encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...spec.gevent.env, ...env },
  });
  const line = (p.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (p.status !== 0 || !line) { console.error(`bench ${spec.name}: gevent ${spec.gevent.script} failed:\n${(p.stderr ?? '').slice(-1000)}`); return null; }
  const r = JSON.parse(line);
  return Object.fromEntries(Object.entries(spec.gevent.variants).map(([name, metrics]) =>
    [name, Object.fromEntries(Object.entries(metrics).map(([k, expr]) => [k, evaluate(expr, r)]))]));
}

/** Medians per variant and metric over rounds of metrics. */
export function medians(runs) {
  const med = {};
  for (const [v, rs] of Object.entries(runs)) {
    med[v] = {};
    for (const k of Object.keys(rs[0] ?? {})) if (typeof rs[0][k] === 'number') med[v][k] = median(rs.map((x) => x[k]));
  }
  return med;
}

/** The spec's ratios over `med` on Node `version`: value, the target for that Node, met. */
export function ratios(spec, med, version) {
  return (spec.ratios ?? []).map((q) => {
    const num = med[q.numerator]?.[q.metric] ?? spec.references?.[q.numerator]?.[q.metric];
    const den = q.denominator === undefined ? 1 : med[q.denominator]?.[q.metric] ?? spec.references?.[q.denominator]?.[q.metric];
    const value = num !== undefined && den !== undefined ? num / den : NaN;
    const target = major(version) <= 20 && q.target20 !== undefined ? q.target20 : q.target;
    const met = target === undefined || Number.isNaN(value) ? undefined : q.atMost ? value <= target : value >= target;
    return { label: q.label, goal: q.goal, floorFor: q.floorFor, value: Number(value.toPrecision(4)), target, atMost: q.atMost, met };
  });
}

export const fmt = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3));

/** Issue 18's rows, in its order: a ratio's `goal` names one (README headline, goals table). */
export const GOALS = [
  'fs.stat, callback, patched / unpatched',
  'fs.stat, callback, in 64 greenlets / unpatched',
  'fs.stat, promise, patched / unpatched',
  'fs.stat, promise, in 64 greenlets / unpatched',
  'TCP echo, await per message in greenlets / unpatched',
  'spawn + joinAll / the ALS-per-task floor',
  '`withTimeout(sleep(0))`, µs per op',
  '`withTimeout(sleep(0))` / Python gevent',
  '`withTimeout(sleep(0))` / a raw timer + await',
  '`Channel` hand-off / a raw promise channel',
  'round trips over two `Queue(1)` / raw',
  '`Pool(100).imapUnordered` / p-map',
  'BullMQ worker, IO-bound jobs / a plain BullMQ `Worker`',
  'heap per parked greenlet, bytes',
];
