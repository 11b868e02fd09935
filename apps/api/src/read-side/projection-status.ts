import { Inject, Injectable, Optional } from '@nestjs/common';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { Projection, Projector, READ_STORE, ReadStore } from '@crm/read-models';
import { ProjectorThread } from '@crm/runtime/projector-thread';
import { PROJECTIONS } from '@crm/runtime/projection-list';

/** Lag beyond this many events is reported as this number (counting costs a scan on EventStoreDB). */
const LAG_CAP = 1_000_000;

export interface ProjectionStatusRow {
  name: string;
  position: string;
  status: string;
  version: number;
  /** The version of the projection's code that filled the version served. */
  codeVersion?: number;
  lag: number;
  rebuild?: { version: number; position: string };
  /** While failed or faulted: the event the projection could not apply (API.md v2). */
  error?: { position: string; eventType: string; message: string };
  lastError?: string;
  eventsApplied?: number;
}

/**
 * Processor reports (projections' or reactors') with each one's lag: the events in the log after
 * its checkpoint. Processors usually share one position: each distinct position's lag is counted once.
 */
export function withLags<R extends { position: string }>(events: EventStore, reports: R[]): Promise<(R & { lag: number })[]> {
  const lags = new Map<string, Promise<number>>();
  const lagAfter = (position: string) => {
    if (!lags.has(position)) lags.set(position, events.countEventsAfter(BigInt(position), LAG_CAP));
    return lags.get(position)!;
  };
  return Promise.all(reports.map(async (report) => ({ ...report, lag: await lagAfter(report.position) })));
}

/** Statuses in which a projection is not keeping its read model up to date (readiness says so). */
export const UNHEALTHY_PROJECTION_STATUSES: ReadonlySet<string> = new Set(['faulted', 'failed']);

/**
 * Where each projection stands, for `GET /projections`, `/metrics` and readiness: from the
 * projector of this process, or from the stored checkpoints when it runs elsewhere.
 */
@Injectable()
export class ProjectionStatus {
  constructor(
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(PROJECTIONS) private readonly projections: Projection[],
    @Optional() private readonly projector?: Projector,
  ) {}

  /** The embedded default's projector thread, when this process runs one (its store's figures are the thread's). */
  projectorThread(): ProjectorThread | undefined {
    return this.projector instanceof ProjectorThread ? this.projector : undefined;
  }

  async rows(): Promise<ProjectionStatusRow[]> {
    return withLags(this.events, this.projector ? this.projector.reports() : await this.storedReports());
  }

  /** With the projector in another process: the stored checkpoints, and the faults it keeps in the store. */
  private async storedReports(): Promise<Omit<ProjectionStatusRow, 'lag'>[]> {
    const faults = await this.store.faults();
    return Promise.all(
      this.projections.map(async ({ readModel }) => {
        const state = await this.store.readModelState(readModel);
        const fault = faults[readModel];
        return {
          name: readModel,
          position: String(state.checkpoints[state.activeVersion] ?? -1n),
          status: fault ? (fault.faulted ? 'faulted' : 'failed') : 'external',
          version: state.activeVersion,
          ...(fault && { error: { position: fault.position, eventType: fault.eventType, message: fault.message } }),
        };
      }),
    );
  }
}
