// Counters for the dispatcher, registered on a caller's prom-client Registry (optional). Labelled by sink type
// only: URLs can be secrets, and their number is unbounded.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DropReason = 'duplicate' | 'queueFull' | 'exhausted' | 'permanent' | 'closed';

export interface AlertMetrics {
  queued(sink: string): void;
  delivered(sink: string, seconds: number): void;
  failedAttempt(sink: string): void;
  dropped(sink: string, reason: DropReason): void;
  depth(sink: string, delta: number): void;
}

const NOOP: AlertMetrics = { queued() {}, delivered() {}, failedAttempt() {}, dropped() {}, depth() {} };

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  const existing = registry.getSingleMetric(name);
  return existing ? (existing as unknown as T) : make();
}

export function alertMetrics(registry?: Registry): AlertMetrics {
  if (!registry) return NOOP;
  const registers = [registry];
  const queued = reuse(
    registry,
    'sluice_alerts_queued_total',
    () =>
      new Counter({
        name: 'sluice_alerts_queued_total',
        help: 'Alert events accepted into a sink queue',
        labelNames: ['sink'],
        registers,
      }),
  );
  const delivered = reuse(
    registry,
    'sluice_alerts_delivered_total',
    () =>
      new Counter({
        name: 'sluice_alerts_delivered_total',
        help: 'Alert events a sink accepted (2xx)',
        labelNames: ['sink'],
        registers,
      }),
  );
  const failed = reuse(
    registry,
    'sluice_alerts_failed_attempts_total',
    () =>
      new Counter({
        name: 'sluice_alerts_failed_attempts_total',
        help: 'Delivery attempts that failed (each retry counts)',
        labelNames: ['sink'],
        registers,
      }),
  );
  const dropped = reuse(
    registry,
    'sluice_alerts_dropped_total',
    () =>
      new Counter({
        name: 'sluice_alerts_dropped_total',
        help: 'Alert events not delivered, by reason',
        labelNames: ['sink', 'reason'],
        registers,
      }),
  );
  const depth = reuse(
    registry,
    'sluice_alerts_queue_depth',
    () =>
      new Gauge({
        name: 'sluice_alerts_queue_depth',
        help: 'Alert jobs waiting in sink queues',
        labelNames: ['sink'],
        registers,
      }),
  );
  const latency = reuse(
    registry,
    'sluice_alerts_delivery_seconds',
    () =>
      new Histogram({
        name: 'sluice_alerts_delivery_seconds',
        help: 'From notify() to the sink accepting, including retries',
        labelNames: ['sink'],
        buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
        registers,
      }),
  );
  return {
    queued: (sink) => queued.inc({ sink }),
    delivered: (sink, s) => {
      delivered.inc({ sink });
      latency.observe({ sink }, s);
    },
    failedAttempt: (sink) => failed.inc({ sink }),
    dropped: (sink, reason) => dropped.inc({ sink, reason }),
    depth: (sink, d) => depth.inc({ sink }, d),
  };
}
