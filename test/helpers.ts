/** Shared test helpers: counting real handles, temp dirs, capturing stderr. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Active timers (setTimeout/setInterval) in this process. */
export function timersOf(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Active resources of one kind ('TCPSocketWrap', 'FSReqCallback', ...). */
export function resourcesOf(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

/** Open file descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'greenio-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
