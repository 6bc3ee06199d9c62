import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from '../../ports/services.js';

/** What is read at scrape time rather than counted: the current state of the bridge. */
export interface MetricSources {
  /** Connections (one per watched mailbox or poller) by state: idle, syncing, connecting, error... */
  connectionsByState(): ReadonlyMap<string, number>;
  /** Local mode: each queue's depth and the age of its oldest record that is due (s). */
  queues?(): readonly { readonly queue: string; readonly depth: number; readonly oldestAgeSeconds: number }[];
  /** Local mode: dead letters waiting for a replay. */
  deadLetters?(): number;
}

/** Latency buckets in seconds: Dovecot's 0.5 s notification delay sits between 0.25 and 1. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The Metrics port in Prometheus' text format, on a registry of its own (not prom-client's global one), with
 * Node's process figures (RSS, event-loop lag) from prom-client's defaults. Names are idlehook_*.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly logins: Counter<'outcome' | 'cause'>;
  private readonly events: Counter<'type'>;
  private readonly filterOutcomes: Counter<'subscription' | 'outcome'>;
  private readonly deliveries: Counter<'outcome' | 'status_class'>;
  private readonly deliveryLatency: Histogram;
  private readonly endToEndLatency: Histogram;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    // prom-client samples the event loop's delay every 10 ms by default: a hundred wake-ups a second, 0.7 % of a
    // core measured on an idle bridge, where a 100 ms sample still shows every stall that matters.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.logins = new Counter({
      name: 'idlehook_logins_total',
      help: 'Connections that reached their mailbox (outcome="ok") or failed before it, by cause',
      labelNames: ['outcome', 'cause'],
      registers,
    });
    this.events = new Counter({
      name: 'idlehook_events_queued_total',
      help: 'Events that left the parse stage for their subscriptions, by type',
      labelNames: ['type'],
      registers,
    });
    this.filterOutcomes = new Counter({
      name: 'idlehook_filter_events_total',
      help: "Events a subscription's filter was asked about, by subscription and outcome (matched, filtered_out)",
      labelNames: ['subscription', 'outcome'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'idlehook_delivery_attempts_total',
      help: 'Webhook attempts by outcome (delivered, retry, dead-lettered) and HTTP status class',
      labelNames: ['outcome', 'status_class'],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'idlehook_delivery_latency_seconds',
      help: 'From the watcher detecting a change to the endpoint accepting its webhook',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.endToEndLatency = new Histogram({
      name: 'idlehook_end_to_end_latency_seconds',
      help: "From the message's arrival at the mail server (INTERNALDATE; detection for other events) to delivery",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'idlehook_connections',
      help: 'IMAP connections by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, count] of sources.connectionsByState()) this.set({ state }, count);
      },
    });
    const { queues, deadLetters } = sources;
    if (queues) {
      new Gauge({
        name: 'idlehook_queue_depth',
        help: 'Records in each queue, waiting or in flight',
        labelNames: ['queue'],
        registers,
        collect() {
          for (const q of queues()) this.set({ queue: q.queue }, q.depth);
        },
      });
      new Gauge({
        name: 'idlehook_queue_oldest_age_seconds',
        help: 'Age of the oldest record of each queue that is due',
        labelNames: ['queue'],
        registers,
        collect() {
          for (const q of queues()) this.set({ queue: q.queue }, q.oldestAgeSeconds);
        },
      });
    }
    if (deadLetters) {
      new Gauge({
        name: 'idlehook_dead_letters',
        help: 'Deliveries that failed every attempt and wait for a replay',
        registers,
        collect() {
          this.set(deadLetters());
        },
      });
    }
  }

  login(outcome: 'ok' | { readonly failure: string }): void {
    if (outcome === 'ok') this.logins.inc({ outcome: 'ok', cause: '' });
    else this.logins.inc({ outcome: 'failed', cause: outcome.failure });
  }

  eventQueued(type: string): void {
    this.events.inc({ type });
  }

  filterOutcome(subscriptionId: string, matched: boolean): void {
    this.filterOutcomes.inc({ subscription: subscriptionId, outcome: matched ? 'matched' : 'filtered_out' });
  }

  deliveryAttempt(attempt: Parameters<Metrics['deliveryAttempt']>[0]): void {
    this.deliveries.inc({ outcome: attempt.outcome, status_class: attempt.statusClass });
    if (attempt.sinceDetectedMs !== undefined) this.deliveryLatency.observe(attempt.sinceDetectedMs / 1000);
    if (attempt.endToEndMs !== undefined) this.endToEndLatency.observe(attempt.endToEndMs / 1000);
  }

  /** The exposition: what GET /metrics answers. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
