#!/usr/bin/env node
// The `greenio` command: a shim over the built CLI (dist/src/cli.js, made by `npm run build`).
let cli;
try {
  cli = await import('../dist/src/cli.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('cli.js')) throw e;
  process.stderr.write('greenio: the package is not built (dist/src/cli.js is missing): run `npm run build`\n');
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
