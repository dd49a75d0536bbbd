import { analyticsCommands } from './analytics.commands';
import { cartCommands } from './cart.commands';
import type { Command } from './command';
import { supportCommands } from './support.commands';
import { wishlistCommands } from './wishlist.commands';

/** Every client→server command of the events document, by Socket.IO event name. */
export const commands: Record<string, Command> = {
  ...cartCommands,
  ...wishlistCommands,
  ...supportCommands,
  ...analyticsCommands,
};
