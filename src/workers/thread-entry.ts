/**
 * The script each `ThreadPool` worker thread runs: batches of tasks arrive on its parent
 * port and run one at a time (task-runner.ts `createRunner`), each claimed first in the
 * ring shared with the parent, which can so revoke those not started yet. Not for
 * import: it starts listening when evaluated.
 */
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { CLAIMED, DONE, PENDING, RING_MASK, tag } from './task-codec.js';
import { createRunner } from './task-runner.js';

if (parentPort === null) throw new Error('greenio: thread-entry runs only inside a ThreadPool worker thread');
const port = parentPort;
const ring = new Int32Array((workerData as { ring: SharedArrayBuffer }).ring);

port.postMessage({ ready: 1 });
port.on(
  'message',
  createRunner({
    post(msg, transfer) {
      port.postMessage(msg, transfer as TransferListItem[] | undefined);
    },
    claim(seq) {
      const pending = tag(seq, PENDING);
      return Atomics.compareExchange(ring, seq & RING_MASK, pending, tag(seq, CLAIMED)) === pending;
    },
    finish(seq) {
      // Only the worker writes a claimed slot, so a plain store is enough.
      Atomics.store(ring, seq & RING_MASK, tag(seq, DONE));
    },
  }),
);
