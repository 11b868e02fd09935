import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { dayOfDate, READ_STORE, ReadStore } from '@crm/read-models';
import {
  conversionRateReport,
  ConversionGroupBy,
  DayWindow,
  pipelineReport,
  PipelineGroupBy,
  Report,
  ReportSource,
  timeToConversionReport,
} from '@crm/reports';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csvOf, wantsCsv } from '../common/csv-response';
import { DateField, EnumField } from '../common/fields';
import { invalidInput } from '../common/problem';
import { ReadModels } from '../read-side/read-models';

const WINDOW_DOC = 'UTC day, YYYY-MM-DD; from inclusive, to exclusive; default: all time';

class ReportWindowDto {
  @DateField('optional', WINDOW_DOC) from?: string;
  @DateField('optional', WINDOW_DOC) to?: string;
}

export class ConversionReportQueryDto extends ReportWindowDto {
  @EnumField('required', ['source', 'ownerId', 'month']) groupBy: ConversionGroupBy;
}

export class PipelineReportQueryDto extends ReportWindowDto {
  @EnumField('required', ['stage', 'ownerId', 'closeMonth']) groupBy: PipelineGroupBy;
}

const COLUMNS = {
  conversionRate: ['key', 'captured', 'qualified', 'converted', 'convertedWithOpportunity', 'conversionRate', 'leadToOpportunityRate'],
  timeToConversion: ['key', 'count', 'mean', 'median', 'p90', 'min', 'max'],
  pipeline: ['key', 'count', 'amount', 'weightedAmount'],
};

const CSV_NOTE = ' Send `Accept: text/csv` for the rows as CSV with a header row (the total is in the JSON only).';

@ApiTags('reports')
@Controller('reports')
export class ReportsController {
  private readonly source: ReportSource;

  constructor(@Inject(READ_STORE) store: ReadStore, readModels: ReadModels) {
    this.source = { store, versionOf: (readModel) => readModels.versionOf(readModel) };
  }

  @Get('conversion-rate')
  @ApiOperation({
    summary: 'Conversion rate of the cohort of leads captured (business time) in the window',
    description:
      'Per group: captured, qualified (ever reached Qualified), converted (by now, whenever), convertedWithOpportunity, conversionRate = converted / captured, leadToOpportunityRate = convertedWithOpportunity / qualified (4 decimals, 0 when dividing by 0). Groups by the lead\'s current source or owner (no owner: key null, first), or month of capture. Merged leads count nowhere.' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, ... }], total: { ... } }, rows sorted by key' })
  async conversionRate(@Query() query: ConversionReportQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await conversionRateReport(this.source, query.groupBy, toWindow(query)), COLUMNS.conversionRate);
  }

  @Get('time-to-conversion')
  @ApiOperation({
    summary: 'Time from capture to conversion of the leads converted (business time) in the window',
    description:
      'Per group: count, and over convertedAt − capturedAt in seconds: mean (1 decimal), median, p90 (nearest rank: element ceil(p × count) of the sorted values), min, max; null when there is no conversion. month is the month of conversion.' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, count, mean, median, p90, min, max }], total }' })
  async timeToConversion(@Query() query: ConversionReportQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await timeToConversionReport(this.source, query.groupBy, toWindow(query)), COLUMNS.timeToConversion);
  }

  @Get('pipeline')
  @ApiOperation({
    summary: 'Open opportunities whose close date falls in the window, and what closed in it',
    description:
      'Per group (stage, current owner, or close month): count, amount, weightedAmount = Σ amount × probability / 100 (2 decimals). The total adds wonAmount and lostAmount of the opportunities closed in the window (business time of the close).' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, count, amount, weightedAmount }], total: { count, amount, weightedAmount, wonAmount, lostAmount } }' })
  async pipeline(@Query() query: PipelineReportQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await pipelineReport(this.source, query.groupBy, toWindow(query)), COLUMNS.pipeline);
  }

  /** JSON, or the rows as CSV when the client asks for text/csv. */
  private answer<R, T>(request: FastifyRequest, reply: FastifyReply, report: Report<R, T>, columns: string[]): Report<R, T> | string {
    return wantsCsv(request) ? csvOf(reply, report.rows as Record<string, unknown>[], columns) : report;
  }
}

function toWindow({ from, to }: ReportWindowDto): DayWindow {
  const window = { from: from === undefined ? undefined : dayOfDate(from), to: to === undefined ? undefined : dayOfDate(to) };
  if (window.from !== undefined && window.to !== undefined && window.from > window.to) {
    throw invalidInput([{ field: 'to', message: 'to must not be before from' }]);
  }
  return window;
}
