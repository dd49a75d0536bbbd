import type { Command } from './command';

/** cart commands from Socket.IO clients. (Being implemented: issue 4.) */
export const cartCommands: Record<string, Command> = {};
