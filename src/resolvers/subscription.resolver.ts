import { Arg, Resolver, Root, Subscription } from 'type-graphql';
import { checkAccess, subscriptionTarget } from '../events/access';
import type { SubscriptionArgs } from '../events/audience';
import type { Envelope } from '../events/envelope';
import { eventList, type EventDefinition } from '../events/catalogue';
import { envelopeIterator } from '../events/iterator';
import type { GqlContext } from '../schema/context';

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The value of every subscription field: the envelope's payload, or the error it carries. The schema
 * also installs it as the field's plain resolver (src/schema/build-schema.ts), bypassing
 * type-graphql's asynchronous wrapper.
 */
export function subscriptionPayload(root: Envelope): unknown {
  if (root.error) throw root.error;
  return root.payload;
}

/**
 * One subscription field per catalogue entry, generated from the entry: the access rule is
 * checked at subscribe time (and again by the graphql-ws server when the viewer's role changes),
 * the audience's `accepts` per event with the viewer as it is then. Built once at module load (type-graphql keeps
 * decorator metadata globally).
 */
function subscriptionResolver(def: EventDefinition): Function {
  const cls = { [`${pascal(def.field)}Subscription`]: class {} }[`${pascal(def.field)}Subscription`];
  const proto = cls.prototype as Record<string, unknown>;
  proto[def.field] = subscriptionPayload;
  const descriptor = Object.getOwnPropertyDescriptor(proto, def.field)!;
  Reflect.defineMetadata('design:paramtypes', [Object, ...def.args.map(() => Object)], proto, def.field);
  Reflect.defineMetadata('design:returntype', Object, proto, def.field);
  Root()(proto, def.field, 0);
  def.args.forEach((a, i) => Arg(a.name, a.type as never, { nullable: a.nullable, description: a.description })(proto, def.field, i + 1));
  Subscription(() => def.payload, {
    description: def.description,
    subscribe: async ({ args, context }) => {
      const ctx = context as GqlContext;
      const a = args as SubscriptionArgs;
      await checkAccess(subscriptionTarget(def, ctx.viewer, a), ctx.viewer, ctx.services);
      const { log } = ctx.services;
      const accept = (m: Envelope) => def.audience.accepts(m.route, ctx.viewer, a);
      const listen = (l: (m: Envelope) => void) => log.listen(def, l);
      const after = def.durable ? (a.after ?? ctx.lastEventId) : null;
      if (after == null) return envelopeIterator({ listen }, accept);
      let at: number;
      try {
        at = await log.resumePoint(after);
      } catch (err) {
        // The subscription ends with the error as its one result (`next`, then `complete`).
        return (async function* ending() {
          yield { name: def.name, payload: null, route: {}, at: Date.now(), error: err } satisfies Envelope;
        })();
      }
      return envelopeIterator({
        listen, after: at, replay: async () => (await log.since(at)).filter((m) => m.name === def.name),
      }, accept);
    },
  })(proto, def.field, descriptor);
  Resolver()(cls);
  return cls;
}

export const subscriptionResolvers: Function[] = eventList.map(subscriptionResolver);
