/**
 * Runs `work` with `console.error` watched: the calls `expected` accepts are kept, not printed;
 * every other call is printed as usual, so an unexpected error still shows.
 */
export async function withExpectedConsoleError<T>(
  expected: (...args: unknown[]) => boolean,
  work: () => Promise<T>,
): Promise<{ result: T; caught: unknown[][] }> {
  const original = console.error;
  const caught: unknown[][] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    if (expected(...args)) caught.push(args);
    else original.apply(console, args);
  });
  try {
    return { result: await work(), caught };
  } finally {
    spy.mockRestore();
  }
}

/**
 * What graphql-ws's `ws` adapter (`graphql-ws/use/ws`) prints when a client's message exceeds the
 * server's `maxPayload` (src/subscriptions/graphql-ws.ts): the socket's error, before it closes with 1009.
 */
export const isOversizedWsMessage = (...args: unknown[]) =>
  typeof args[0] === 'string' && args[0].startsWith('Internal error emitted on a WebSocket socket')
  && (args[1] as { code?: string } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
