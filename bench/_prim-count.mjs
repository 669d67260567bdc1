// Instructions per op of the in-memory primitives under callgrind (PRIM18/CHAN18): warm up 4 x
// 5,000 ops, gc(), then n ops; run it at two sizes and divide the difference (GC and compiling
// in the window count, so read to a few %). Targets: a copy of dist/ (cp -r dist /tmp/base), or
// raw / floor (in its own AsyncLocalStorage.run) / dfloor (floor started a reaction later).
// Works: _prim-works.mjs.
//   for n in 5000 25000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//     node --single-threaded --expose-gc bench/_prim-count.mjs <dir|raw|floor|dfloor> <spawn|chan|rt|wt|sleep|sleep16> $n; done
import { worksFor } from './_prim-works.mjs';

const [target, work, nArg] = process.argv.slice(2);
const works = await worksFor(target);
for (let i = 0; i < 4; i++) await works[work](5000);
globalThis.gc();
await works[work](Number(nArg));
