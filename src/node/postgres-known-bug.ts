/**
 * postgres.js 3.4 can run a write scheduled with setImmediate on a connection whose socket it has
 * already dropped (seen when the database drops connections under load, in the outage tests):
 * `TypeError: Cannot read properties of null (reading 'write')` thrown from its `nextWrite`, on
 * a timer, where nothing can catch it. The query it belonged to has already failed with
 * CONNECTION_CLOSED, so nothing is lost by ignoring it; ending the process would lose everything
 * in flight. Anything else uncaught still ends the process.
 */
export function isPostgresWriteAfterClose(error: unknown): boolean {
  // By shape, not instanceof: vitest hands over errors serialized from its workers.
  const { name, message, stack } = (error ?? {}) as {
    name?: unknown;
    message?: unknown;
    stack?: unknown;
  };
  return (
    name === "TypeError" &&
    typeof message === "string" &&
    /reading 'write'/.test(message) &&
    typeof stack === "string" &&
    /\bnextWrite\b/.test(stack)
  );
}
