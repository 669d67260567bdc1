/**
 * Instrumentation the CLI asks for, started by the `greenio/patch` preload (it imports
 * this file only when one of these is set): `GREENIO_TRACE=FILE` records a trace and
 * writes it at exit; `GREENIO_REPORT=1` (or a file path) prints the per-greenlet IO
 * report at exit; `GREENIO_MONITOR=1` starts the blocking monitor (threshold
 * `GREENIO_MAX_BLOCKING_TIME`). Each part is loaded only if asked for.
 * Limits: a process killed by SIGKILL (or one that calls `process.reallyExit`) writes
 * nothing; an unhandled SIGINT/SIGTERM/SIGHUP writes first, then ends the process as it would have.
 */
import { writeFileSync, writeSync } from 'node:fs';
import * as hub from '../hub/index.js';
import { config } from '../internal/config.js';

// Under `greenio run --workers N`, each worker writes its own file: trace.json → trace.2.json.
const perWorker = process.env.GREENIO_TRACE_PER_WORKER === '1' ? process.env.GREENIO_WORKER_INDEX : undefined;
const traceFile = process.env.GREENIO_TRACE ? withIndex(process.env.GREENIO_TRACE, perWorker) : undefined;
function withIndex(file: string, index: string | undefined): string {
  if (index === undefined) return file;
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf('/') ? `${file.slice(0, dot)}.${index}${file.slice(dot)}` : `${file}.${index}`;
}
const reportTo = process.env.GREENIO_REPORT || undefined;
const finishers: Array<() => void> = [];
// Taken by this process: worker threads and child processes inherit the preload (through
// execArgv) and a copy of the environment, and must not write the same trace file.
delete process.env.GREENIO_TRACE;
delete process.env.GREENIO_TRACE_PER_WORKER;
delete process.env.GREENIO_REPORT;
delete process.env.GREENIO_MONITOR;

if (traceFile !== undefined) {
  const { startTrace, stopTrace } = await import('./trace.js');
  startTrace();
  finishers.push(() => {
    const traceEvents = stopTrace();
    writeFileSync(traceFile, `${JSON.stringify({ traceEvents, displayTimeUnit: 'ms' })}\n`);
  });
}

if (reportTo !== undefined && reportTo !== '0') {
  const { startReport, formatReport } = await import('./report.js');
  startReport();
  finishers.push(() => {
    const text = formatReport();
    if (reportTo === '1' || reportTo === 'stderr') writeSync(2, text);
    else writeFileSync(reportTo, text);
  });
}

if (config.monitor) {
  const { startMonitor } = await import('./monitor.js');
  await startMonitor();
}

if (finishers.length > 0) {
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    // Outside any greenlet: the program's last greenlet must not own these writes.
    hub.outside(() => {
      for (const f of finishers) {
        try {
          f();
        } catch (e) {
          writeSync(2, `greenio: cannot write the trace or report: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    });
  };
  process.on('exit', finish);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only while nobody else handles the signal (a program that does exits later, through 'exit').
    const onSignal = (): void => {
      if (process.listenerCount(signal) !== 1) return;
      finish();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal); // ends the process the way the signal would have
    };
    process.on(signal, onSignal);
  }
}
