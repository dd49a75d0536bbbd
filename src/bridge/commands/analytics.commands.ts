import type { Command } from './command';

/** analytics commands from Socket.IO clients. (Being implemented: issue 4.) */
export const analyticsCommands: Record<string, Command> = {};
