#!/usr/bin/env node
// `npm run bench [-- name ...]`: run every workload in bench/ (or the named ones). Each
// variant runs in its own fresh process, variants interleaved, ROUNDS rounds (default 3),
// on Node 26 (the `node` devDependency, the headline), Node 24 (`node24`) and the
// machine's Node >= 20.19, newest first; GREENIO_BENCH_NODES=26,20 picks majors. Prints one
// JSON line per workload and Node, then a table of medians and ratios. Results are also
// written to bench/results/latest.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.env.ROUNDS ?? 3);
const only = process.argv.slice(2);

function versionOf(bin) {
  try { return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(); } catch { return null; }
}
const major = (v) => Number(v.slice(1).split('.')[0]);
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
if (process.env.GREENIO_BENCH_NODES) {
  const wanted = process.env.GREENIO_BENCH_NODES.split(',').map(Number);
  nodes = nodes.filter((n) => wanted.includes(major(n.version)));
}
console.error(`bench on ${nodes.map((n) => `Node ${n.version}`).join(', ')}`);

spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });

const files = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts') && f !== 'lib.ts' && !f.startsWith('_')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (x) => (x === undefined || Number.isNaN(x) ? '-' : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3));

const results = [];
for (const file of files) {
  const path = join(root, 'bench', file);
  const d = spawnSync(process.execPath, ['--import', 'tsx', path, '--describe'], { cwd: root, encoding: 'utf8' });
  if (d.status !== 0) { console.error(`bench ${file}: cannot describe\n${d.stderr}`); continue; }
  const spec = JSON.parse(d.stdout.trim().split('\n').pop());
  for (const { bin, version } of nodes) {
    const runs = Object.fromEntries(spec.variants.map((v) => [v, []]));
    for (let r = 0; r < rounds; r++) {
      for (const v of spec.variants) {
        const p = spawnSync(bin, ['--import', 'tsx', ...(spec.nodeArgs ?? []), path, '--variant', v], {
          cwd: root, encoding: 'utf8', timeout: 300_000,
          env: { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH}` },
        });
        const line = p.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
        if (p.status !== 0 || !line) { console.error(`bench ${spec.name}/${v} on ${version} failed:\n${p.stderr.slice(-2000)}`); continue; }
        runs[v].push(JSON.parse(line));
      }
    }
    const med = {};
    for (const [v, rs] of Object.entries(runs)) {
      med[v] = {};
      for (const k of Object.keys(rs[0] ?? {})) if (typeof rs[0][k] === 'number') med[v][k] = median(rs.map((x) => x[k]));
    }
    const ratios = (spec.ratios ?? []).map((q) => {
      const num = med[q.numerator]?.[q.metric] ?? spec.references?.[q.numerator]?.[q.metric];
      const den = med[q.denominator]?.[q.metric] ?? spec.references?.[q.denominator]?.[q.metric];
      const value = num !== undefined && den !== undefined ? num / den : NaN;
      return { label: q.label, value: Number(value.toFixed(3)), target: q.target, met: q.target === undefined ? undefined : value >= q.target };
    });
    const out = { workload: spec.name, node: version, rounds, medians: med, ratios };
    results.push({ ...out, description: spec.description });
    console.log(JSON.stringify(out));
  }
}

// Summary table.
const lines = ['', '| workload | node | variant | metrics (median) |', '|---|---|---|---|'];
for (const r of results) for (const [v, m] of Object.entries(r.medians)) {
  lines.push(`| ${r.workload} | ${r.node} | ${v} | ${Object.entries(m).map(([k, x]) => `${k}=${fmt(x)}`).join(', ')} |`);
}
lines.push('', '| workload | node | ratio | value | target | met |', '|---|---|---|---|---|---|');
for (const r of results) for (const q of r.ratios) {
  lines.push(`| ${r.workload} | ${r.node} | ${q.label} | ${fmt(q.value)} | ${q.target ?? '-'} | ${q.met === undefined ? '-' : q.met ? 'yes' : 'NO'} |`);
}
console.log(lines.join('\n'));
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/latest.json'), JSON.stringify(results, null, 2));
