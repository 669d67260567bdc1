/**
 * The hub's one door: everything outside src/hub/ imports the hub from here. The hub is
 * greenio's switch point (core.ts: ops, flows, interrupts) and its organs: kinds and the
 * registry of live greenlets, runSoon, parked lists, wait lists, the waitable protocol,
 * diagnostics channels and the text that describes an op. It imports only src/internal/
 * and src/errors.ts; the toolbox, instrument and patches import it (see docs/internals.md).
 */
export * from './core.js';
export * from './kinds.js';
export * from './registry.js';
export * from './soon.js';
export * from './parked.js';
export * from './waiters.js';
export * from './waitable.js';
export * from './describe.js';
export * from './channels.js';
