/**
 * Human-readable names for greenlets and waits, shared by the exit report, run-info and
 * the CLI report: `Greenlet-3 (fetchPage)`, `sleep 100ms`, `fs.readFile /etc/hosts`.
 */
import type { AnyOp, Core } from './ops.js';

export function greenletLabel(g: Core): string {
  const named = g as Core & { name?: string; fnName?: string };
  const name = named.name ?? (g.isMain ? 'main' : `Greenlet-${g.id}`);
  return named.fnName ? `${name} (${named.fnName})` : name;
}

export function detailText(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail === 'string') return detail;
  if (typeof detail === 'number' || typeof detail === 'bigint' || typeof detail === 'boolean') return String(detail);
  if (typeof detail === 'object' && 'isMain' in detail && 'id' in detail) return greenletLabel(detail as Core);
  const o = detail as { describe?: () => string; name?: unknown };
  if (typeof o.describe === 'function') return o.describe();
  if (typeof o.name === 'string') return o.name;
  return '';
}

export function opText(op: AnyOp): string {
  const d = detailText(op.detail);
  const what = op.kind.name === 'sleep' && typeof op.detail === 'number' ? `sleep ${op.detail}ms` : d ? `${op.kind.name} ${d}` : op.kind.name;
  return what;
}

export function ms(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(n < 10 ? 1 : 0)} ms`;
}
