/**
 * Cancelling a mysql2 command: one not yet started is made to end at once without being
 * sent (mysql2's own trick for an execute whose prepare failed); a running one is killed
 * on the server by `KILL QUERY <thread id>` from a side connection, and the connection
 * starts nothing more until the server has answered that KILL, so it can never land on
 * the next statement. Limits: the side connection needs a free server slot and the
 * PROCESS/CONNECTION ADMIN right on other users' threads; without them the command runs to
 * its end and its result is dropped.
 */
import { outside, warnNotCancelled } from './client-ops.js';

/** The mysql2 connection fields the integration reads (mysql2 3). */
export interface MyConn {
  threadId: number | null;
  config: object;
  stream?: object;
  _command?: unknown;
  _commands: { unshift(c: unknown): void };
  _fatalError?: unknown;
  _closing?: boolean;
  handlePacket(packet?: unknown): void;
}

/** A mysql2 Command, as far as cancelling goes. */
export interface MyCmd {
  next: unknown;
  start: (...a: unknown[]) => unknown;
}

/** Where a cancel left the command, for the README and the tests. */
export type KillResult = 'not-sent' | 'server' | 'dropped';

type SideConn = {
  query(sql: string, cb: (err: unknown) => void): unknown;
  end(cb?: () => void): unknown;
  destroy(): void;
  on(ev: string, fn: (...a: unknown[]) => void): unknown;
};
export type SideFactory = (config: object) => SideConn;

function endAtOnce(): null {
  return null;
}

/** Cancel `cmd` of `conn` (null while the pool has not given a connection yet). */
export function killCommand(conn: MyConn | null, cmd: MyCmd, side: SideFactory, bypass: (fn: () => void) => void): KillResult {
  if (conn === null || conn._command !== cmd || cmd.next === null) {
    // Not started: when its turn comes it ends without a byte sent ('end' is emitted,
    // so a pool gives its connection back).
    cmd.start = endAtOnce;
    return 'not-sent';
  }
  if (whyNotKillable(conn, cmd) !== null) return 'dropped';
  const barrier = new Barrier(conn);
  conn._commands.unshift(barrier);
  // Outside any greenlet: the side connection belongs to nobody; one per cancel (a
  // cancel is rare, and a kept one would hold a server slot past the pool's end).
  outside(() => bypass(() => {
    let sideConn: SideConn;
    try {
      sideConn = side(conn.config);
    } catch {
      barrier.open();
      return;
    }
    sideConn.on('error', (e: unknown) => {
      warnNotKilled(e);
      barrier.open();
    });
    sideConn.query(`KILL QUERY ${conn.threadId}`, (e: unknown) => {
      if (e) warnNotKilled(e);
      barrier.open();
      sideConn.end(() => {});
    });
  }));
  return 'server';
}

/**
 * Why the running `cmd` of `conn` cannot be killed on the server (it then runs to its
 * end, its result dropped); null when it can be, or was never sent.
 */
export function whyNotKillable(conn: MyConn | null, cmd: MyCmd): string | null {
  if (conn === null || conn._command !== cmd || cmd.next === null) return null;
  if (conn.threadId === null || conn._fatalError) return 'the connection has no server thread to kill';
  return null;
}

// The KILL QUERY failed (no slot, no right): the command runs to its end; said once per failure.
function warnNotKilled(e: unknown): void {
  warnNotCancelled('KILL QUERY a mysql2 command', 'GREENIO_MYSQL_KILL', e);
}

/**
 * A pseudo-command queued right behind the killed one: while it is the connection's
 * current command, nothing else is sent. It ends once the KILL has been answered.
 */
class Barrier {
  private ready = false;
  private waiting = false;
  constructor(private readonly conn: MyConn) {}

  /** No callback of a user's: an error on the connection passes it by quietly. */
  onResult(): void {
    this.ready = true;
  }

  execute(): boolean {
    if (this.ready) return true;
    this.waiting = true;
    return false;
  }

  open(): void {
    if (this.ready) return;
    this.ready = true;
    // Current now: step the connection on to its next command, as a packet would.
    if (this.waiting && this.conn._command === this && !this.conn._closing) this.conn.handlePacket();
  }

  emit(): boolean {
    return false;
  }
}
