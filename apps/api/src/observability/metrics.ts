import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RevealedEvents } from '@crm/event-store';
import { FOLLOWER_STATUSES } from '@crm/read-models';

/** What a command came to, as counted in `crm_commands_total`. */
export type CommandOutcomeLabel = 'succeeded' | 'replayed' | 'unchanged' | 'refused' | 'failed';

/** One processor's figures at scrape time: its name, checkpoint, lag, status, and (projections) events applied by this process. */
export interface ProcessorMetricsRow {
  name: string;
  position: string;
  lag: number;
  status: string;
  eventsApplied?: number;
}

export interface ProcessorMetricsSource {
  projections(): Promise<ProcessorMetricsRow[]>;
  /** The reactors this process runs (beside its write side). */
  reactors(): Promise<ProcessorMetricsRow[]>;
}

type ProcessorKind = 'projection' | 'reactor';

/** What each thread's protecting store revealed (crm_personal_data_revealed_events). */
export type RevealedByThread = { thread: 'request' | 'projector'; revealed: RevealedEvents };

export const PROJECTION_STATUSES = [...FOLLOWER_STATUSES, 'standby', 'rebuilding', 'faulted', 'external'] as const;

/**
 * The service's Prometheus metrics, in a registry of its own (several apps may share a process
 * in tests): HTTP requests, commands, event-store appends, projections and reactors, and Node's defaults.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequestDuration = new Histogram({
    name: 'crm_http_request_duration_seconds',
    help: 'HTTP requests by method, route (pattern) and status, with their duration',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'crm_commands_total',
    help: 'Commands by type (e.g. CaptureLead) and outcome: succeeded, replayed (Idempotency-Key), unchanged, refused (4xx), failed',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly appendDuration = new Histogram({
    name: 'crm_event_store_append_duration_seconds',
    help: 'Event-store appends (commit and fsync included), by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private source?: ProcessorMetricsSource;
  private revealedBy: () => RevealedByThread[] = () => [];
  /** The rows of each kind being read for the scrape under way: its gauges collect together, and share one read. */
  private readonly reading = new Map<ProcessorKind, Promise<ProcessorMetricsRow[]>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.processorGauges('projection', 'applied', PROJECTION_STATUSES);
    this.processorGauges('reactor', 'handled', FOLLOWER_STATUSES);
    const revealedBy = () => this.revealedBy();
    new Gauge({
      name: 'crm_personal_data_revealed_events',
      help: 'Protected events revealed since the thread started, by thread (request, projector) and how: from the plaintext of an append, or decrypted',
      labelNames: ['thread', 'how'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { thread, revealed } of revealedBy()) {
          this.set({ thread, how: 'plaintext' }, revealed.plaintext);
          this.set({ thread, how: 'decrypted' }, revealed.decrypted);
        }
      },
    });
    this.processorGauge('projection', 'events_applied', 'Events applied to each projection by this process since it started', [], (gauge, row) => {
      if (row.eventsApplied !== undefined) gauge.set({ projection: row.name }, row.eventsApplied);
    });
  }

  /**
   * Protected events revealed by each thread's store: from plaintext (the projector thread's, sent
   * by the request thread) or decrypted. A projector thread that decrypts what this process just
   * captured says the hand-off is not reaching it.
   */
  observePersonalData(revealedBy: () => RevealedByThread[]): void {
    this.revealedBy = revealedBy;
  }

  /** The processors' figures are read from here at each scrape. */
  observeProcessors(source: ProcessorMetricsSource): void {
    this.source = source;
  }

  /** `crm_<kind>_position`, `_lag_events` and `_status` of each projection or reactor, labelled by its name. */
  private processorGauges(kind: ProcessorKind, handled: string, statuses: readonly string[]): void {
    this.processorGauge(kind, 'position', `Checkpoint of each ${kind}: the global position of the last event ${handled}`, [], (gauge, row) => gauge.set({ [kind]: row.name }, Number(row.position)));
    this.processorGauge(kind, 'lag_events', `Events in the log after each ${kind}'s checkpoint`, [], (gauge, row) => gauge.set({ [kind]: row.name }, row.lag));
    this.processorGauge(kind, 'status', `Status of each ${kind}: 1 for the status it is in`, ['status'], (gauge, row) => {
      for (const status of statuses) gauge.set({ [kind]: row.name, status }, row.status === status ? 1 : 0);
    });
  }

  /** A gauge `crm_<kind>_<name>` labelled by the processor's name (and `labelNames`), set from each row at scrape time. */
  private processorGauge(kind: ProcessorKind, name: string, help: string, labelNames: string[], set: (gauge: Gauge, row: ProcessorMetricsRow) => void): void {
    const rowsOf = () => this.rowsOf(kind);
    new Gauge({
      name: `crm_${kind}_${name}`,
      help,
      labelNames: [kind, ...labelNames],
      registers: [this.registry],
      async collect() {
        const rows = await rowsOf();
        this.reset();
        for (const row of rows) set(this, row);
      },
    });
  }

  /** The rows of one kind, read once for all the gauges that collect them at the same scrape. */
  private rowsOf(kind: ProcessorKind): Promise<ProcessorMetricsRow[]> {
    let rows = this.reading.get(kind);
    if (!rows) {
      rows = Promise.resolve(this.source?.[`${kind}s`]() ?? []).finally(() => this.reading.delete(kind));
      this.reading.set(kind, rows);
    }
    return rows;
  }

  /** Times every request by the route it matched (never the raw URL: ids would make a series per record). */
  observeHttp(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.httpRequestDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? '(no route)', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}
