/** The hub, for tests of greenio/testing that look at the registry of live greenlets. */
export * as hub from '../../src/hub/index.js';
