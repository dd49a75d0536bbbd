/**
 * Raw baseline: a bare Socket.IO 4 server. Every client joins one room on connection; each publish
 * is `io.to(room).emit('inventory_update', payload)`. Nothing else runs in this process.
 */
import http from 'node:http';
import { Server } from 'socket.io';
import { baselinePayload, controlServer, listenAndReport } from './common';

const ROOM = 'bench';
const server = http.createServer();
const io = new Server(server, { serveClient: false });
io.on('connection', (socket) => {
  void socket.join(ROOM);
});
controlServer(server, (stockChange) => {
  io.to(ROOM).emit('inventory_update', baselinePayload(stockChange));
});
listenAndReport(server, 'bare-socketio');
