/**
 * Task definitions: a task given as a function (sent as source, so it cannot close over
 * variables) or as `{ file, name }` (a module export), validated at submit, and numbered
 * once per pool so each worker is sent a definition once and then only its id. Limit: a
 * function is keyed by its source, so two closures with the same text are one definition.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expected } from '../internal/validate.js';
import type { DefMsg, TaskFile } from './task-codec.js';

/** A validated task definition: its cache key, the message that defines it, a label. */
export interface TaskDef {
  key: unknown;
  msg: (id: number) => DefMsg;
  label: string;
}

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;
// Sources already known to compile: a function written inline in a loop is checked once.
const compiled = new Set<string>();

/** Validate `task` (a function or `{ file, name }`) and describe it; throws `TypeError`. */
export function describeTask(task: unknown): TaskDef {
  if (typeof task === 'function') {
    const src = Function.prototype.toString.call(task);
    const name = (task as { name?: string }).name || 'anonymous';
    if (NATIVE.test(src)) throw new TypeError(`${expected('task', 'a function with JavaScript source (it is sent to the worker as text)', task)}: native and bound functions have none`);
    if (/^class\b/.test(src)) throw new TypeError(expected('task', 'a function, not a class', task));
    if (!compiled.has(src)) {
      try {
        // Compile only (nothing runs): a method shorthand `f() {}` is not an expression.
        new Function('__name', `return (${src}\n)`);
      } catch {
        throw new TypeError(`${expected('task', 'a standalone function expression (arrow, function or async function)', task)}: its source is not one (a method?); put it in a module and pass { file, name } instead`);
      }
      compiled.add(src);
    }
    // Keyed by source: an arrow function written in a loop is a new object each time,
    // but one definition for the workers.
    return { key: src, msg: (id) => [id, 0, src, name], label: name };
  }
  if (task === null || typeof task !== 'object' || !('file' in task)) {
    throw new TypeError(expected('task', 'a function or a { file, name } object', task));
  }
  const { file, name = 'default' } = task as TaskFile;
  if (typeof name !== 'string' || name === '') throw new TypeError(expected('task.name', 'a non-empty string (an export name)', name));
  const url = toUrl(file);
  return { key: `${url}#${name}`, msg: (id) => [id, 1, url, name], label: name === 'default' ? url.slice(url.lastIndexOf('/') + 1) : name };
}

function toUrl(file: unknown): string {
  if (file instanceof URL) return file.href;
  if (typeof file !== 'string' || file === '') throw new TypeError(expected('task.file', 'a URL or a path string', file));
  if (/^(file|data|node):/.test(file)) return new URL(file).href;
  // A path, like `node <path>`: relative ones are resolved against the working directory.
  return pathToFileURL(isAbsolute(file) ? file : resolvePath(file)).href;
}

/** A pool's task definitions, numbered in order of first use. */
export class TaskDefs {
  /** The definition messages, by id: each worker is sent those it has not seen yet. */
  readonly msgs: DefMsg[] = [];
  readonly #ids = new Map<unknown, number>();
  readonly #labels: string[] = [];
  // The last task seen: a loop submitting one function skips describing it again.
  #lastTask: unknown = undefined;
  #lastId = -1;

  /** The id of `task`'s definition, made at its first use; throws TypeError for a bad task. */
  idOf(task: unknown): number {
    let id = this.#lastId;
    if (task !== this.#lastTask || id < 0) {
      const d = describeTask(task);
      id = this.#ids.get(d.key) ?? -1;
      if (id < 0) {
        id = this.msgs.length;
        this.#ids.set(d.key, id);
        this.msgs.push(d.msg(id));
        this.#labels.push(d.label);
      }
      this.#lastTask = task;
      this.#lastId = id;
    }
    return id;
  }

  /** The name of definition `id`, for messages. */
  label(id: number): string {
    return this.#labels[id] ?? '?';
  }
}
