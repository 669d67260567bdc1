#!/usr/bin/env node
// The hub op of one Redis command, alone, in process: `old` (hub.wait with the hub's own
// promise, the client's promise made and left pending), `new` (hub.beginWait +
// adoptSettlers on the client's promise, as patches/redis.ts and ioredis.ts do) and `bare`
// (the client's promise alone), each 100,000 sequential awaits in a greenlet, interleaved,
// CPU ns per op, median of 12 rounds. Limits: no socket, no client code. Build first
// (`npx tsc -p tsconfig.build.json`); run: node bench/_clients-redis-hubop.mjs [dist dir]
const dist = process.argv[2] ?? new URL("../dist", import.meta.url).pathname;
const hub = await import(`${dist}/src/hub/index.js`);
const { spawn } = await import(`${dist}/src/index.js`);
const K = hub.kind('redis-ab');
const H = { start(op) { cur = op; }, cancel() { return false; } };
let cur = null;
const N = 100000;
async function oldWay() {
  for (let i = 0; i < N; i++) {
    let r; new Promise((res) => { r = res; }); // the client's promise, left pending
    const p = hub.wait(K, 'd', H, null);
    cur.resolve(i);
    await p;
  }
}
async function newWay() {
  for (let i = 0; i < N; i++) {
    const op = hub.beginWait(K, 'd', H, null);
    let res, rej;
    const p = new Promise((a, b) => { res = a; rej = b; }); // the client's promise
    hub.adoptSettlers(op, res, rej);
    op.resolve(i);
    await p;
  }
}
async function bare() {
  for (let i = 0; i < N; i++) {
    let res;
    const p = new Promise((a) => { res = a; });
    res(i);
    await p;
  }
}
const ways = { old: oldWay, new: newWay, bare };
const out = { old: [], new: [], bare: [] };
for (let round = 0; round < 15; round++) {
  for (const name of round % 2 ? ['old', 'new', 'bare'] : ['bare', 'new', 'old']) {
    const t0 = process.cpuUsage();
    await spawn(ways[name]).join();
    const t = process.cpuUsage(t0);
    if (round >= 3) out[name].push(((t.user + t.system) * 1000) / N);
  }
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(JSON.stringify({ node: process.version, old_ns: Math.round(med(out.old)), new_ns: Math.round(med(out.new)), bare_ns: Math.round(med(out.bare)) }));
