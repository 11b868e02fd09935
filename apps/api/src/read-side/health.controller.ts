import { Controller, Get, Inject, Logger } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { READ_STORE, ReadStore } from '@crm/read-models';
import { CompletionRecovery } from '../processes/completion-recovery';
import { ProjectionStatus, UNHEALTHY_PROJECTION_STATUSES } from './projection-status';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(READ_STORE) private readonly store: ReadStore,
    private readonly projections: ProjectionStatus,
    private readonly reactors: CompletionRecovery,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: '200 when the event store and the read store answer, else 503' })
  check() {
    return this.health.check(this.storeChecks());
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs and answers HTTP (it checks nothing else, so a restart is never caused by a store)' })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: 200 when both stores answer and no projection is faulted (or failing), else 503 with the reasons',
    description: 'The reactors are listed under checks.reactors with their status (a reactor whose step keeps failing is `failed` there), and do not make it 503.',
  })
  ready() {
    return this.health.check([...this.storeChecks(), () => this.projectionsHealthy(), () => this.reactorsListed()]);
  }

  private storeChecks() {
    return [() => this.answers('eventStore', () => this.events.ping()), () => this.answers('readStore', () => this.store.ping())];
  }

  private async projectionsHealthy() {
    const indicator = this.indicators.check('projections');
    const unhealthy = (await this.projections.rows()).filter((row) => UNHEALTHY_PROJECTION_STATUSES.has(row.status));
    if (unhealthy.length === 0) return indicator.up();
    // Health is open to callers without a key: names and statuses only; the errors are on the admin's GET /projections.
    return indicator.down({ faulted: unhealthy.map(({ name, status }) => ({ name, status })) });
  }

  /**
   * The reactors, each named with its status; always up. A reactor whose step keeps failing
   * (`failed`) is named here but does not make the service unready: unlike a failing projection,
   * whose queries go stale, it leaves every request served as before (a request completes its own
   * decision; the reactor completes only what a request left), its step is parked after
   * REACTOR_PARK_AFTER_FAILURES attempts and the reactor goes on, and every API process runs the
   * same reactor over the same log, so a 503 would take all of them out of service at once for one
   * decision that no restart fixes. The step's error is on the admin's GET /processes/reactors.
   */
  private reactorsListed() {
    return this.indicators.check('reactors').up({ reactors: this.reactors.reports().map(({ name, status }) => ({ name, status })) });
  }

  private async answers(key: string, ping: () => Promise<void>) {
    const indicator = this.indicators.check(key);
    try {
      await ping();
      return indicator.up();
    } catch (error) {
      // The driver's message names hosts and ports: it goes to the log, not to an open route.
      this.logger.warn(`${key} does not answer: ${error instanceof Error ? error.message : String(error)}`);
      return indicator.down({ message: 'does not answer (see the service log)' });
    }
  }
}
