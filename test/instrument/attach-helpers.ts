/** Helpers of the attach tests: a live target process, and the greenio CLI run from source. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface Target {
  pid: number;
  port: number;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Start `test/fixtures/<name>` and wait for its first JSON line ({ pid, port }). */
export function startTarget(name: string, args: string[] = [], env: Record<string, string> = {}): Promise<Target> {
  const script = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { ...process.env, TSX_DISABLE_CACHE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start\n${err}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready\n${err}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const first = out === '' || !out.includes('\n');
      out += d;
      if (first && out.includes('\n')) {
        clearTimeout(timer);
        const ready = JSON.parse(out.slice(0, out.indexOf('\n'))) as { pid: number; port: number };
        resolve({
          pid: ready.pid,
          port: ready.port,
          child,
          stdout: () => out,
          stderr: () => err,
          stop: () => new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGKILL');
          }),
        });
      }
    });
  });
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `greenio ARGS` (src/cli.ts through tsx), asynchronously: the test process keeps running. */
export function greenio(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const code = `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}
