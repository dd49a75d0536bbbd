import type { z } from 'zod';
import { analyticsCommands } from './analytics.commands';
import { cartCommands } from './cart.commands';
import type { Command } from './command';
import { supportCommands } from './support.commands';
import { wishlistCommands } from './wishlist.commands';

/** Every client→server command of the events document, by Socket.IO event name. */
export const commands = {
  ...cartCommands,
  ...wishlistCommands,
  ...supportCommands,
  ...analyticsCommands,
} satisfies Record<string, Command>;

export type CommandName = keyof typeof commands;
/** What a client sends with a command: the input of its schema. */
export type CommandPayload<K extends CommandName> = (typeof commands)[K] extends Command<infer S> ? z.input<S> : never;
