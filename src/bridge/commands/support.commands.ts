import type { Command } from './command';

/** support commands from Socket.IO clients. (Being implemented: issue 4.) */
export const supportCommands: Record<string, Command> = {};
