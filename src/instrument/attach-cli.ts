/**
 * `greenio ps [--json] [--no-stacks] PID` and `greenio top PID`: attach to a live process
 * that runs greenio (attach-client.ts) and print its spawn tree, or run the live view
 * (top.ts). Exit codes: 0 done, 1 could not attach, 2 bad usage.
 */
import { AttachError, attach } from './attach-client.js';
import { formatPs } from './ps.js';
import { runTop } from './top.js';

const PS_HELP = `Usage: greenio ps [--json] [--no-stacks] PID

Prints the spawn tree of a live process that runs greenio: each greenlet's state, what
it waits on and for how long, where it was spawned (with GREENIO_TRACK_GREENLET_TREE=1),
then the resources in use (locks, semaphores, queues, events...) with their holders and
waiters, and any deadlock found. Attaching needs the same user or root; nothing is set
up in the process beforehand, and nothing is printed there.

Options:
  --json        the snapshot as JSON (schema greenio.ps/3, see the README)
  --no-stacks   leave spawn stacks out
  -h, --help    this help
`;

const TOP_HELP = `Usage: greenio top PID

A live view of a process that runs greenio, refreshed every second: greenlets sorted by
busy time (ran on the loop), with idle (waited on IO or a primitive) and scheduled
delay (ready, not yet running), measured from the moment top attached.
Keys: b/i/s sort, / filter by name, a number then Enter (or Enter: the first row) shows
one greenlet's waits, Esc back, q quits. Not a terminal: prints one view and exits.
`;

/** Run `greenio ps` or `greenio top` with `argv`; resolves to the exit code. */
export async function attachCommand(command: 'ps' | 'top', argv: readonly string[]): Promise<number> {
  let json = false;
  let stacks = true;
  let pid: string | undefined;
  for (const a of argv) {
    if (a === '-h' || a === '--help') {
      process.stdout.write(command === 'ps' ? PS_HELP : TOP_HELP);
      return 0;
    }
    if (command === 'ps' && a === '--json') json = true;
    else if (command === 'ps' && a === '--no-stacks') stacks = false;
    else if (a.startsWith('-') || pid !== undefined) return usage(`greenio ${command}: unexpected argument '${a}' (see greenio ${command} --help)`);
    else pid = a;
  }
  if (pid === undefined || !/^[1-9][0-9]*$/.test(pid)) return usage(`greenio ${command}: expected a process id, got '${pid ?? ''}'`);
  let session;
  try {
    session = await attach(Number(pid));
  } catch (e) {
    if (!(e instanceof AttachError)) throw e;
    process.stderr.write(`greenio ${command}: ${e.message}\n`);
    return 1;
  }
  try {
    if (command === 'top') {
      await runTop(session);
    } else {
      const snap = await session.request('ps', stacks);
      process.stdout.write(json ? `${JSON.stringify(snap, null, 2)}\n` : formatPs(snap));
    }
    return 0;
  } catch (e) {
    if (!(e instanceof AttachError)) throw e;
    process.stderr.write(`greenio ${command}: ${e.message}\n`);
    return 1;
  } finally {
    session.close();
  }
}

function usage(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}
