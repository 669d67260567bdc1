/**
 * The script each `ProcessPool` child runs (`fork`, advanced serialization): it runs the
 * tasks it receives over IPC one at a time, and exits when the parent disconnects (pool
 * closed, or parent gone), so no child outlives its pool. An uncaught exception is sent
 * to the parent before it exits with code 1. Not for import: it listens when evaluated.
 */
import { encodeError } from './task-codec.js';
import { createRunner } from './task-runner.js';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('greenio: process-entry runs only as a ProcessPool child (with an IPC channel)');

send({ ready: 1 });
process.on(
  'message',
  createRunner({
    post(msg) {
      send(msg);
    },
    claim: () => true,
    finish() {},
  }),
);

// The parent closed the pool or died: nothing more will come.
process.on('disconnect', () => process.exit(0));

// As Node would, print the error and exit, but tell the parent why first, so the task
// that was running fails with the actual error.
process.on('uncaughtException', (e) => {
  const exit = (): never => process.exit(1);
  setTimeout(exit, 2000).unref();
  try {
    send({ crash: encodeError(e) }, undefined, undefined, exit);
  } catch {
    process.stderr.write(`greenio ProcessPool child ${process.pid}: uncaught ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    exit();
  }
});
