/**
 * IPC between the orchestrator (bench/run.ts) and a load-client process (bench/client.ts).
 *
 * Phases are told apart by the magnitude of the event's `stockChange`: every event of one phase is
 * published with |stockChange| = that phase's number (signs alternate so stock stays put). The
 * client therefore attributes each message without any extra field in the payload. `replay`: the
 * events raised while resuming subscribers were away (bench/replay.ts).
 */
export const Phase = { rate1: 1, rate5: 2, burst: 3, warmup: 4, replay: 5 } as const;
export type PhaseId = (typeof Phase)[keyof typeof Phase];
export const PHASES = 6; // array size (index 0 unused: unknown magnitudes land there)

export type Transport = 'socketio' | 'graphql-ws';

export const SUBSCRIPTION = 'subscription { inventoryUpdate { productId variant { size color } stockChange timestamp } }';

/** The same subscription resuming after a position (`eventId`), for the replay runs. */
export const RESUME_SUBSCRIPTION =
  'subscription Resume($after: String) { inventoryUpdate(after: $after) { eventId productId variant { size color } stockChange timestamp } }';

export type ToClient =
  /** `defer`: connect only (graphql-ws); every connection subscribes on a later `subscribe`. */
  | { type: 'connect'; transport: Transport; url: string; count: number; concurrency: number; label: string; defer?: boolean }
  | { type: 'subscribe'; query: string; variables?: Record<string, unknown> }
  | { type: 'counts' }
  | { type: 'report'; phase: number; expectedPerClient: number }
  | { type: 'close' };

export type FromClient =
  | { type: 'ready'; connected: number; failed: number; errors: string[]; ms: number }
  | { type: 'counts'; perPhase: number[]; withWarmup: number; lastRecv: number; unexpectedCloses: number; errors: number; outOfOrder: number }
  | {
      type: 'report';
      phase: number;
      received: number;
      hist: Array<[number, number]>;
      clientsShort: number;
      clientsOver: number;
      firstRecv: number;
      lastRecv: number;
      bytes: number;
    }
  | { type: 'subscribed'; count: number; at: number }
  | { type: 'closed' }
  | { type: 'fatal'; message: string };
