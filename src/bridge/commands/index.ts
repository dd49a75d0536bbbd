import type { Command } from './command';

/** Every client→server command of the events document, by Socket.IO event name. */
export const commands: Record<string, Command> = {};
