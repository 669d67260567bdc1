/**
 * `greenio/patch`, the preload entry: `node --import greenio/patch app.js` patches all
 * IO before the application loads (so nothing it captures is unpatched). Settings come
 * from `GREENIO_*` variables: `GREENIO_SYNC_IO` (allow|warn|throw), `GREENIO_NO_PATCH`
 * (comma list of `patchAll()` option names: fs,net,…,fetch and the client integrations
 * such as pg,ioredis), and those of `config`.
 * Instrumentation the CLI asks for (`GREENIO_TRACE`, `GREENIO_REPORT`) starts here too.
 */
import { config } from './internal/config.js';
import { patchFromPreload, type ClientPatchOptions, type PatchAllOptions } from './monkey.js';
import { patchOptions } from '../patches/index.js';

const skip = (process.env.GREENIO_NO_PATCH ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const known: readonly string[] = patchOptions;
const options: PatchAllOptions & ClientPatchOptions = {};
for (const name of skip) {
  if (!known.includes(name)) throw new TypeError(`GREENIO_NO_PATCH: unknown module \`${name}\` (known: ${known.join(', ')})`);
  (options as Record<string, boolean>)[name] = false;
}
patchFromPreload(options);

if (process.env.GREENIO_TRACE || process.env.GREENIO_REPORT || config.monitor) {
  // Loaded only when asked: a plain preload loads nothing but the patches.
  await import('./instrument/preload.js');
}
