/**
 * The instrumentation surface, re-exported by `greenio` (src/index.ts): channels,
 * stats, run info, the blocking monitor, traces, the IO report and the HTML timeline.
 * Importing it starts nothing: the monitor's thread, signal handlers and trace
 * subscribers exist only once their `start*`/`enable*` function is called.
 */
export {
  channels,
  channelNames,
  subscribe,
  type ChannelName,
  type ChannelMessages,
  type OpInfo,
  type GreenletMessage,
  type GreenletEndMessage,
  type IoStartMessage,
  type IoEndMessage,
  type BlockMessage,
  type SyncBlockMessage,
  type StallBlockMessage,
} from './channels.js';
export { tracingChannels, type GreenletTraceContext, type GreenioTracingChannel, type JobTraceContext, type OpTraceContext, type TaskTraceContext, type TraceEventChannel, type TraceGreenletFields, type TraceOutcome, type TraceSubscribers } from './tracing.js';
export { stats, type Stats, type KindStats, type GreenletStats, type GreenletKindStats } from './stats.js';
export { formatRunInfo, printRunInfo, enableRunInfoSignal, type RunInfoOptions, type TextSink } from './run-info.js';
export { startMonitor, stopMonitor, isMonitorRunning, type MonitorOptions } from './monitor.js';
export { startTrace, stopTrace, isTracing, type TraceEvent, type TracePhase, type TraceOptions } from './trace.js';
export { startReport, stopReport, formatReport, type ReportOptions, type ReportCollectOptions } from './report.js';
export { timelineHTML, parseTrace, type TimelineOptions } from './timeline.js';
export { snapshot, formatPs, PS_SCHEMA, type PsSnapshot, type PsGreenlet, type PsOp, type PsLeak, type SnapshotOptions } from './ps.js';
export type { ResourceInfo } from './resources.js';
export type { SliceTimes } from './slices.js';
// Arms `greenio ps|top PID` at the first spawn (a SIGWINCH listener; see attach.ts).
import './attach.js';
