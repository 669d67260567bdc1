#!/usr/bin/env node
// `npm run demo`: run the crawler under `greenio run --report --trace`, then turn the trace into an HTML timeline.
//
// Usage: node examples/crawler/demo.mjs [--out DIR]   (default DIR: demo-output/ at the repository root)
//
// Plain Node on purpose (no TypeScript, no greenio import): it only starts processes,
// exactly as a user would type them, so what it prints is what the CLI prints:
//   NODE_OPTIONS='--import tsx' greenio run --report --trace DIR/crawl-trace.json examples/crawler/crawl.ts
//   greenio report DIR/crawl-trace.json -o DIR/timeline.html
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 && process.argv[outIndex + 1] ? resolve(process.argv[outIndex + 1]) : join(repo, 'demo-output');
const greenio = join(repo, 'bin/greenio.js');
const crawl = join(repo, 'examples/crawler/crawl.ts');
const trace = join(out, 'crawl-trace.json');
const timeline = join(out, 'timeline.html');

if (!existsSync(join(repo, 'dist/src/cli.js'))) {
  console.error('demo: greenio is not built (dist/ is missing): run `npm install` or `npm run build` first');
  process.exit(1);
}
mkdirSync(out, { recursive: true });

/** Run `node args...` from the repository root, in this terminal; stop the demo if it fails. */
function run(args, env = process.env) {
  const shown = args.map((a) => (a.startsWith(repo) ? relative(repo, a) || '.' : a)).join(' ');
  console.log(`\n$ ${env.NODE_OPTIONS ? `NODE_OPTIONS='${env.NODE_OPTIONS}' ` : ''}${shown.replace(/^bin\/greenio\.js/, 'greenio')}`);
  const r = spawnSync(process.execPath, args, { cwd: repo, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: the command above failed (${r.signal ?? `exit code ${r.status}`})`);
    process.exit(1);
  }
}

const start = performance.now();
// tsx runs the crawler's TypeScript; `greenio run` adds `--import greenio/patch` itself.
// The IO report goes to stderr at exit, after the crawler's own output.
run([greenio, 'run', '--report', '--trace', trace, crawl], { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim() });
const { NODE_OPTIONS: _unused, ...plainEnv } = process.env;
run([greenio, 'report', trace, '-o', timeline], plainEnv);

console.log(`\ndemo done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
console.log(`  trace:    ${trace}  (also opens in https://ui.perfetto.dev)`);
console.log(`  timeline: ${pathToFileURL(timeline).href}  (open it in a browser: one lane per greenlet)`);
