/**
 * Raw baseline: a bare graphql-ws 6 server over `ws`, with a one-field schema whose subscription is
 * fed by an in-process pub/sub (@graphql-yoga/subscription). graphql-ws executes the subscription
 * document once per subscriber per event, as it does out of the box.
 */
import { createPubSub } from '@graphql-yoga/subscription';
import {
  GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, GraphQLID,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { baselinePayload, controlServer, listenAndReport } from './common';

type Payload = ReturnType<typeof baselinePayload>;
const pubsub = createPubSub<{ inventory: [Payload] }>();

const Variant = new GraphQLObjectType({
  name: 'Variant',
  fields: { size: { type: new GraphQLNonNull(GraphQLString) }, color: { type: new GraphQLNonNull(GraphQLString) } },
});
const InventoryUpdate = new GraphQLObjectType({
  name: 'InventoryUpdate',
  fields: {
    productId: { type: new GraphQLNonNull(GraphQLID) },
    variant: { type: new GraphQLNonNull(Variant) },
    stockChange: { type: new GraphQLNonNull(GraphQLInt) },
    timestamp: { type: new GraphQLNonNull(GraphQLString) },
  },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString, resolve: () => 'ok' } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      inventoryUpdate: {
        type: new GraphQLNonNull(InventoryUpdate),
        subscribe: () => pubsub.subscribe('inventory'),
        resolve: (payload: Payload) => payload,
      },
    },
  }),
});

const server = http.createServer();
const wss = new WebSocketServer({ server, path: '/graphql' });
useServer({ schema }, wss);
controlServer(server, (stockChange) => pubsub.publish('inventory', baselinePayload(stockChange)));
listenAndReport(server, 'bare-graphql-ws');
