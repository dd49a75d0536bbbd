import { hostname } from 'node:os';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

/**
 * OpenTelemetry tracing: off unless an OTLP endpoint is configured with the standard variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and off again with
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. When on, the official instrumentations
 * record HTTP, Express, GraphQL, PostgreSQL (pg), Redis (ioredis) and Socket.IO spans, exported over
 * OTLP/HTTP; the event path adds its own spans (`inSpan`), so that one trace runs from a mutation to
 * the publish of its events and to their delivery on every instance.
 */

/** A W3C `traceparent`: how a trace crosses the outbox, the log and Redis. */
export type TraceContext = string;

let sdk: { shutdown(): Promise<void> } | null = null;
const tracer = () => trace.getTracer('shoe-store-api');

export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').split(',').some((s) => s.trim() === 'none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the SDK when tracing is wanted. Must run before the instrumented libraries are loaded
 * (src/main.ts loads the shop after it). The SDK is required only then: a shop without tracing
 * never loads it.
 */
export function startTracing(): boolean {
  if (sdk || !tracingWanted()) return false;
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { GraphQLInstrumentation } = require('@opentelemetry/instrumentation-graphql') as typeof import('@opentelemetry/instrumentation-graphql');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { IORedisInstrumentation } = require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');
  const { SocketIoInstrumentation } = require('@opentelemetry/instrumentation-socket.io') as typeof import('@opentelemetry/instrumentation-socket.io');
  const s = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME || 'shoe-store-api',
    // OTEL_RESOURCE_ATTRIBUTES (read by the SDK) wins over this default.
    resource: resourceFromAttributes({ 'service.instance.id': `${hostname()}:${process.pid}` }),
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' }),
      new ExpressInstrumentation(),
      new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true }),
      new PgInstrumentation(),
      new IORedisInstrumentation(),
      new SocketIoInstrumentation(),
    ],
  });
  s.start();
  sdk = s;
  return true;
}

/** Exports what is still buffered (at shutdown). */
export async function stopTracing(): Promise<void> {
  const s = sdk;
  sdk = null;
  await s?.shutdown().catch(() => undefined);
}

/** The active span's context, to carry along with an event; null when tracing is off or no span is active. */
export function traceContext(): TraceContext | null {
  if (!sdk) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** A span started on the event path and ended later; `context` is what its children continue. */
export interface OpenSpan {
  context: TraceContext;
  end(attributes?: Attributes): void;
}

const kindOf = (kind: 'producer' | 'consumer') => (kind === 'producer' ? SpanKind.PRODUCER : SpanKind.CONSUMER);

/** Starts a span that continues the trace `parent`; null when tracing is off or there is no parent. */
export function openSpan(name: string, parent: TraceContext | null | undefined, kind: 'producer' | 'consumer', attributes: Attributes): OpenSpan | null {
  if (!sdk || !parent) return null;
  const span = tracer().startSpan(name, { kind: kindOf(kind), attributes }, propagation.extract(ROOT_CONTEXT, { traceparent: parent }));
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return {
    context: carrier.traceparent,
    end: (more) => {
      if (more) span.setAttributes(more);
      span.end();
    },
  };
}

/**
 * Runs `fn` in a span that continues the trace `parent` (when tracing is on and there is one);
 * otherwise just runs it. The span ends when `fn` returns (a synchronous span: the event path's
 * publish and delivery are synchronous loops).
 */
export function inSpan<T>(name: string, parent: TraceContext | null | undefined, kind: 'producer' | 'consumer', attributes: Attributes, fn: () => T): T {
  if (!sdk || !parent) return fn();
  const ctx = propagation.extract(ROOT_CONTEXT, { traceparent: parent });
  return tracer().startActiveSpan(name, { kind: kindOf(kind), attributes }, ctx, (span) => {
    try {
      return fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Runs `fn` outside any trace (work a request starts but does not own, such as the relay's batch). */
export function untraced<T>(fn: () => T): T {
  return sdk ? context.with(ROOT_CONTEXT, fn) : fn();
}
