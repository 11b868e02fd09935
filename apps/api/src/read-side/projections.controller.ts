import { Controller, Get, HttpCode, Inject, Logger, Optional, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Projection, Projector } from '@crm/read-models';
import { problem, ProblemException } from '../common/problem';
import { PROJECTIONS } from '@crm/runtime/projection-list';
import { ProjectionStatus } from './projection-status';

@ApiTags('operations')
@Controller('projections')
export class ProjectionsController {
  private readonly logger = new Logger('Projections');

  constructor(
    private readonly status: ProjectionStatus,
    @Inject(PROJECTIONS) private readonly projections: Projection[],
    @Optional() private readonly projector?: Projector,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Each read model: name, position (checkpoint), lag (events behind the head), status' })
  list() {
    return this.status.rows();
  }

  @Post(':name/rebuild')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Rebuild a read model from the first event into a new version; the old one keeps serving until the new one has caught up, then they swap',
  })
  @ApiResponse({ status: 202, description: 'Started; follow it in GET /projections (status "rebuilding")' })
  @ApiResponse({ status: 404, description: 'No such read model' })
  @ApiResponse({ status: 409, description: 'Already rebuilding, or the projector does not run in this process' })
  rebuild(@Param('name') name: string) {
    this.assertKnown(name);
    const why = this.projector ? this.projector.rebuildRefusal(name) : 'the projector runs in another process (PROJECTOR=external)';
    if (!this.projector || why) {
      throw new ProblemException(problem(409, 'rebuild-refused', 'Cannot rebuild now', `Read model ${name} cannot be rebuilt here: ${why}`));
    }
    this.projector.rebuild(name).then(
      () => this.logger.log(`Read model ${name} rebuilt and swapped in`),
      (error) => this.logger.error(`Rebuild of ${name} failed: ${error instanceof Error ? error.message : error}`),
    );
    return { name, status: 'rebuilding' };
  }

  @Post(':name/retry')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'A faulted projection tries its failing event again: it catches up alone from its checkpoint (the others go on) and follows the log again once it has; if the event still fails it is faulted again, with the new error in GET /projections',
  })
  @ApiResponse({ status: 202, description: 'Started; follow it in GET /projections' })
  @ApiResponse({ status: 404, description: 'No such read model' })
  @ApiResponse({ status: 409, description: 'It is not faulted, or the projector does not run in this process' })
  retry(@Param('name') name: string) {
    this.assertKnown(name);
    const why = this.projector ? this.projector.retryRefusal(name) : 'the projector runs in another process (PROJECTOR=external)';
    if (!this.projector || why) {
      throw new ProblemException(problem(409, 'retry-refused', 'Cannot retry now', `Projection ${name} cannot be retried: ${why}`));
    }
    this.projector.retry(name).then(
      () => this.logger.log(`Projection ${name} retried: ${this.projector!.reports().find((r) => r.name === name)?.status}`),
      (error) => this.logger.error(`Retry of ${name} failed: ${error instanceof Error ? error.message : error}`),
    );
    return { name, status: 'retrying' };
  }

  private assertKnown(name: string): void {
    if (!this.projections.some((p) => p.readModel === name)) {
      throw new ProblemException(problem(404, 'not-found', 'Not found', `There is no read model named ${name}`, { errors: [{ field: 'name', message: 'unknown read model' }] }));
    }
  }
}
