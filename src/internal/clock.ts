/**
 * A clock that costs nothing to read: the hub writes `performance.now()` into it at each
 * wait's start and end (it reads the time there anyway), so "since when" a lock is held
 * needs no clock call of its own. Limit: it lags the true time by what ran since the last
 * switch point (a greenlet that acquires after a long CPU run gets an earlier time).
 */
export const switchClock = { now: 0 };
