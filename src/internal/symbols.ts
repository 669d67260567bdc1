/**
 * Well-known symbols shared across layers without imports between them: a handle
 * (socket, server, child process, request) that a patch tracks carries its hub op
 * under `kOp`, so the toolbox (StreamServer) can hand it to another greenlet with
 * `hub.adopt(handle[kOp])` without importing the patches.
 */
export const kOp: unique symbol = Symbol.for('greenio.op') as never;
