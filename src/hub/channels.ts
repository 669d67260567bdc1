/**
 * The diagnostics_channel channels greenio publishes on (API.md names). Kept below the
 * hub so the hub can publish without importing the instrumentation layer; publishing
 * is guarded by `hasSubscribers`, so nothing is paid when nobody listens.
 */
import diagnostics from 'node:diagnostics_channel';

export const spawnChannel = diagnostics.channel('greenio:greenlet:spawn');
export const startChannel = diagnostics.channel('greenio:greenlet:start');
export const endChannel = diagnostics.channel('greenio:greenlet:end');
export const ioStartChannel = diagnostics.channel('greenio:io:start');
export const ioEndChannel = diagnostics.channel('greenio:io:end');
export const blockChannel = diagnostics.channel('greenio:block');
