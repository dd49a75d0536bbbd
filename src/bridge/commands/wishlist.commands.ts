import type { Command } from './command';

/** wishlist commands from Socket.IO clients. (Being implemented: issue 4.) */
export const wishlistCommands: Record<string, Command> = {};
