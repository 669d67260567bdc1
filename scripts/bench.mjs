#!/usr/bin/env node
// `npm run bench [-- name ...]`: run every workload in bench/ (or the named ones). Each
// variant runs in its own fresh process, variants interleaved, ROUNDS rounds (default 3),
// on Node 26 (the `node` devDependency, the headline), Node 24 (`node24`) and the
// machine's Node >= 20.19, newest first; GREENIO_BENCH_NODES=26,20 picks majors. A
// workload's Python gevent anchor runs once per round beside the first Node's variants
// (never stored figures). Prints one JSON line per workload and Node, tables of medians
// and ratios, and issue 18's goals with met/not met per Node; all of it goes to
// bench/results/latest.json, from which `npm run bench:readme` writes the README's figures.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { GOALS, build, describe, fmt, major, medians, findNodes, ratios, root, runGevent, runVariant } from './bench-lib.mjs';

const rounds = Number(process.env.ROUNDS ?? 3);
const only = process.argv.slice(2);
const nodes = findNodes();
console.error(`bench on ${nodes.map((n) => `Node ${n.version}`).join(', ')}`);
build();

const files = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts') && f !== 'lib.ts' && !f.startsWith('_')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));

const results = [];
for (const file of files) {
  const path = join(root, 'bench', file);
  let spec;
  try { spec = describe(path); } catch (e) { console.error(e.message); continue; }
  const anchors = {};
  nodes.forEach(({ bin, version }, ni) => {
    const runs = Object.fromEntries(spec.variants.map((v) => [v, []]));
    for (let r = 0; r < rounds; r++) {
      for (const v of spec.variants) {
        const m = runVariant(bin, path, spec, v);
        if (m) runs[v].push(m);
      }
      // The gevent anchor in the same rounds as the headline Node's variants.
      const g = ni === 0 ? runGevent(spec) : null;
      if (g) for (const [name, m] of Object.entries(g)) (anchors[name] ??= []).push(m);
    }
    const med = { ...medians(runs), ...medians(anchors) };
    const out = { workload: spec.name, node: version, rounds, medians: med, ratios: ratios(spec, med, version) };
    results.push({ ...out, description: spec.description });
    console.log(JSON.stringify(out));
  });
}

// A run of some workloads (or Nodes) keeps the others' last figures in latest.json, each
// dated; the README says which dates its figures come from.
const latest = join(root, 'bench/results/latest.json');
if (only.length && existsSync(latest)) {
  try {
    const prev = JSON.parse(readFileSync(latest, 'utf8'));
    const kept = (prev.workloads ?? []).filter((w) => !results.some((r) => r.workload === w.workload && r.node === w.node));
    results.unshift(...kept.map((w) => ({ ...w, date: w.date ?? prev.date })));
  } catch { /* a file from the older format: start afresh */ }
}
const now = new Date().toISOString();
for (const r of results) r.date ??= now;

// Tables: medians, every ratio, then issue 18's goals, Node by Node (newest first).
const lines = ['', '| workload | node | variant | metrics (median) |', '|---|---|---|---|'];
for (const r of results) for (const [v, m] of Object.entries(r.medians)) {
  lines.push(`| ${r.workload} | ${r.node} | ${v} | ${Object.entries(m).map(([k, x]) => `${k}=${fmt(x)}`).join(', ')} |`);
}
const mark = (q) => (q.met === undefined ? '-' : q.met ? 'met' : 'NOT MET');
const goalText = (q) => (q.target === undefined ? '-' : `${q.atMost ? '≤' : '≥'} ${q.target}`);
lines.push('', '| workload | node | ratio | value | target | met |', '|---|---|---|---|---|---|');
for (const r of results) for (const q of r.ratios) lines.push(`| ${r.workload} | ${r.node} | ${q.label} | ${fmt(q.value)} | ${goalText(q)} | ${mark(q)} |`);

const versions = [...new Set([...nodes.map((n) => n.version), ...results.map((r) => r.node)])].sort((a, b) => major(b) - major(a));
const goals = [];
for (const goal of GOALS) {
  const perNode = {};
  for (const r of results) for (const q of r.ratios) if (q.goal === goal) perNode[r.node] = { workload: r.workload, value: q.value, target: q.target, atMost: q.atMost, met: q.met };
  if (Object.keys(perNode).length) goals.push({ goal, nodes: perNode });
  // Its floors: what the least work with the same guarantees reaches against the same target.
  const floors = {};
  for (const r of results) for (const q of r.ratios) if (q.floorFor === goal) (floors[q.label] ??= {})[r.node] = { workload: r.workload, value: q.value, target: q.target, atMost: q.atMost, met: q.met };
  for (const [label, nodes] of Object.entries(floors)) goals.push({ goal: `↳ its floor: ${label}`, floorFor: goal, nodes });
}
if (goals.length) {
  lines.push('', `Issue 18's goals (${versions.map((v) => `Node ${major(v)}`).join(' | ')}):`, '',
    `| goal | ${versions.map((v) => `Node ${v}`).join(' | ')} |`, `|---|${versions.map(() => '---|').join('')}`);
  for (const g of goals) lines.push(`| ${g.goal} | ${versions.map((v) => { const q = g.nodes[v]; return q ? `${fmt(q.value)} (${goalText(q)}: ${mark(q)})` : '-'; }).join(' | ')} |`);
}
console.log(lines.join('\n'));
mkdirSync(join(root, 'bench/results'), { recursive: true });
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg().map((x) => Number(x.toFixed(2))) };
// Sizes changed through the environment (the workloads' defaults otherwise).
const sizes = Object.fromEntries(['N', 'M', 'CONNS', 'ROUNDS_PER_CONN', 'C', 'R'].filter((k) => process.env[k]).map((k) => [k, Number(process.env[k])]));
for (const r of results) if (r.date === now) r.sizes = sizes;
writeFileSync(latest, JSON.stringify({ date: now, rounds, sizes, nodes: versions, machine, goals, workloads: results }, null, 2) + '\n');
