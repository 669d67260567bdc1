/**
 * Instrumentation started by the preload when the CLI asks for it (GREENIO_TRACE,
 * GREENIO_REPORT, GREENIO_MONITOR). Filled in by the instrumentation work.
 */
export {};
