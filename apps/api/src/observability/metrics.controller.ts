import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Metrics } from './metrics';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus text format: HTTP requests, commands, event-store appends, projections, reactors, and Node process metrics' })
  @ApiOkResponse({ description: 'text/plain; version=0.0.4' })
  scrape() {
    return this.metrics.registry.metrics();
  }
}
