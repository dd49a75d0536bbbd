import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The payload of a baseline event: the same shape (and so the same size) as the product's `inventory_update`. */
export function baselinePayload(stockChange: number) {
  return {
    productId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    variant: { size: '10', color: 'black' },
    stockChange,
    timestamp: new Date().toISOString(),
  };
}

/**
 * A tiny loopback HTTP endpoint, `POST /publish?stockChange=N`, that publishes one event and
 * answers once it has been handed to the library. Returns the listening server.
 */
export function controlServer(server: http.Server, publish: (stockChange: number) => void): void {
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/publish') {
      const stockChange = Number(url.searchParams.get('stockChange') ?? '1');
      publish(stockChange);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200).end('ok');
      return;
    }
    // Socket.IO and ws handle their own paths on this server; anything else is a 404.
    if (!url.pathname.startsWith('/socket.io') && url.pathname !== '/graphql') res.writeHead(404).end();
  });
}

/** Listens on a free loopback port, tells the parent, and exits with it. */
export function listenAndReport(server: http.Server, name: string): void {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.send?.({ type: 'listening', port, name });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
