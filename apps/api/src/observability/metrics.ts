import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What a command came to, as counted in `crm_commands_total`. */
export type CommandOutcomeLabel = 'succeeded' | 'replayed' | 'unchanged' | 'refused' | 'failed';

export interface ProjectionMetricsSource {
  /** Each projection's name, checkpoint, lag, status and events applied by this process, read at scrape time. */
  projections(): Promise<{ name: string; position: string; lag: number; status: string; eventsApplied?: number }[]>;
}

export const PROJECTION_STATUSES = ['starting', 'standby', 'catching-up', 'live', 'rebuilding', 'faulted', 'failed', 'stopped', 'external'] as const;

/**
 * The service's Prometheus metrics, in a registry of its own (several apps may share a process
 * in tests): HTTP requests, commands, event-store appends, projections, and Node's defaults.
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
  private source?: ProjectionMetricsSource;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const source = () => this.source;
    const projectionGauge = (name: string, help: string, labelNames: string[], read: (gauge: Gauge, rows: Awaited<ReturnType<ProjectionMetricsSource['projections']>>) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        async collect() {
          const rows = (await source()?.projections()) ?? [];
          this.reset();
          read(this, rows);
        },
      });
    projectionGauge('crm_projection_position', 'Checkpoint of each projection: the global position of the last event applied', ['projection'], (gauge, rows) => {
      for (const row of rows) gauge.set({ projection: row.name }, Number(row.position));
    });
    projectionGauge('crm_projection_lag_events', 'Events in the log after each projection\'s checkpoint', ['projection'], (gauge, rows) => {
      for (const row of rows) gauge.set({ projection: row.name }, row.lag);
    });
    projectionGauge('crm_projection_events_applied', 'Events applied to each projection by this process since it started', ['projection'], (gauge, rows) => {
      for (const row of rows) if (row.eventsApplied !== undefined) gauge.set({ projection: row.name }, row.eventsApplied);
    });
    projectionGauge('crm_projection_status', 'Status of each projection: 1 for the status it is in', ['projection', 'status'], (gauge, rows) => {
      for (const row of rows) for (const status of PROJECTION_STATUSES) gauge.set({ projection: row.name, status }, row.status === status ? 1 : 0);
    });
  }

  /** The projections' figures are read from here at each scrape. */
  observeProjections(source: ProjectionMetricsSource): void {
    this.source = source;
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
