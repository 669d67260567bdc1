// `node --import tsx --import ./bench/_dist.mjs bench/<workload>.ts`: the workload's imports
// of greenio's sources (`../src/*.js`, `../patches/*.js`) load the build in dist/ instead,
// greenio as users run it (compiled by tsc). Without it tsx compiles src/ on the fly with
// esbuild, which lowers class fields to assignments and wraps every named closure in a
// `__name()` call (a defineProperty per closure made: per query in the client patches),
// and so measures code no user runs. scripts/bench.mjs builds dist/ first and runs every
// variant this way. Cannot: redirect a file dist/ lacks (tsconfig.build.json builds src/
// and patches/ only): that is an error, never a silent fallback to the sources.
import module from 'node:module';
import { redirect } from './_dist-hooks.mjs';

if (typeof module.registerHooks === 'function') {
  // Node >= 22.15: in-thread hooks (module.register is deprecated on Node 26).
  module.registerHooks({ resolve: (specifier, context, next) => redirect(next(specifier, context)) });
} else {
  module.register(new URL('./_dist-hooks.mjs', import.meta.url));
}
