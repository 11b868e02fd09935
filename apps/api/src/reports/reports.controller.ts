import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { READ_STORE, ReadStore } from '@crm/read-models';
import { dayOfDate } from '@crm/reports';
import {
  closeDatePushesReport,
  CloseDatePushesGroupBy,
  conversionRateReport,
  ConversionGroupBy,
  DayWindow,
  pipelineAsOfReport,
  pipelineMovementReport,
  campaignInfluenceReport,
  CampaignInfluenceGroupBy,
  CampaignReportSource,
  pipelineReport,
  PipelineGroupBy,
  ReportSource,
  sourceRevenueReport,
  SourceRevenueGroupBy,
  speedToLeadReport,
  SpeedToLeadGroupBy,
  stageDurationReport,
  StageDurationGroupBy,
  timeToConversionReport,
} from '@crm/reports';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csvOf, wantsCsv } from '../common/csv-response';
import { DateField, EnumField, InstantField } from '../common/fields';
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

  @InstantField('optional', 'Business time: the pipeline as it stood at that instant (any instant, however far back)')
  asOf?: string;
}

export class PipelineMovementQueryDto {
  @DateField('required', 'F: the movement starts at 00:00 UTC of this day') from: string;
  @DateField('required', 'T: the movement ends at 00:00 UTC of this day (not before from)') to: string;
}

export class SpeedToLeadQueryDto extends ReportWindowDto {
  @EnumField('required', ['source', 'ownerId', 'month']) groupBy: SpeedToLeadGroupBy;
}

export class SourceRevenueQueryDto extends ReportWindowDto {
  @EnumField('required', ['source', 'month']) groupBy: SourceRevenueGroupBy;
}

export class CampaignInfluenceQueryDto extends ReportWindowDto {
  @EnumField('required', ['campaign']) groupBy: CampaignInfluenceGroupBy;
}

export class StageDurationQueryDto extends ReportWindowDto {
  @EnumField('required', ['stage', 'ownerId']) groupBy: StageDurationGroupBy;
}

export class CloseDatePushesQueryDto extends ReportWindowDto {
  @EnumField('required', ['ownerId', 'stage', 'month']) groupBy: CloseDatePushesGroupBy;
}

const STATS = ['count', 'mean', 'median', 'p90', 'min', 'max'];
const COLUMNS = {
  conversionRate: ['key', 'captured', 'qualified', 'converted', 'convertedWithOpportunity', 'conversionRate', 'leadToOpportunityRate'],
  timeToConversion: ['key', ...STATS],
  pipeline: ['key', 'count', 'amount', 'weightedAmount'],
  pipelineMovement: ['key', 'opening', 'new', 'increased', 'decreased', 'won', 'lost', 'closing', 'openingCount', 'newCount', 'wonCount', 'lostCount', 'closingCount'],
  stageDuration: ['key', ...STATS],
  closeDatePushes: ['key', 'pushes', 'opportunities', 'daysPushed'],
  speedToLead: ['key', 'captured', 'touched', 'untouched', 'median', 'p90', 'within5Minutes', 'within5MinutesRate'],
  sourceRevenue: ['key', 'won', 'lost', 'wonAmount', 'lostAmount', 'winRate'],
  campaignInfluence: ['key', 'leads', 'converted', 'opportunities', 'wonAmount', 'costPerLead'],
};

const CSV_NOTE =
  ' Send `Accept: text/csv` for CSV: a header row, one line per row, then a line whose key is `total` with the total of the same columns' +
  ' (a statistic over no values is an empty cell, as it is null in JSON).';

@ApiTags('reports')
@Controller('reports')
export class ReportsController {
  private readonly source: ReportSource;
  private readonly campaignSource: CampaignReportSource;

  constructor(@Inject(READ_STORE) store: ReadStore, readModels: ReadModels) {
    this.source = { store, versionOf: (readModel) => readModels.versionOf(readModel) };
    this.campaignSource = { store, versionOf: (readModel) => readModels.versionOf(readModel) };
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
    const window = toWindow(query);
    const report = query.asOf === undefined ? await pipelineReport(this.source, query.groupBy, window) : await pipelineAsOfReport(this.source, query.groupBy, window, query.asOf);
    return this.answer(request, reply, report, COLUMNS.pipeline);
  }

  @Get('pipeline-movement')
  @ApiOperation({
    summary: 'How the open pipeline moved between the start (00:00 UTC) of from and the start of to',
    description:
      'groupBy is null and rows empty; total: opening (amounts of the opportunities open at F, as they stood then), new (opening amounts of those opened in [F, T)), increased and decreased (sums of the positive and negative amount changes in [F, T), as positive numbers), won and lost (amounts at close of those closed in [F, T)), closing (open at T), and openingCount, newCount, wonCount, lostCount, closingCount. closing = opening + new + increased − decreased − won − lost; a missing amount is 0.' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy: null, rows: [], total: { opening, new, increased, decreased, won, lost, closing, openingCount, newCount, wonCount, lostCount, closingCount } }' })
  async pipelineMovement(@Query() query: PipelineMovementQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { from, to } = toWindow(query) as { from: number; to: number };
    return this.answer(request, reply, await pipelineMovementReport(this.source, { from, to }), COLUMNS.pipelineMovement);
  }

  @Get('stage-duration')
  @ApiOperation({
    summary: 'How long opportunities stayed in each stage: the stays that ended (business time) in the window',
    description:
      'A stay starts when an opportunity enters a stage (opened in it, or moved into it) and ends when it moves to another stage or closes. Per group (the stage of the stay, or the opportunity\'s owner now): count, and over the durations in seconds mean (1 decimal), median, p90 (nearest rank), min, max; null over no stays.' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, count, mean, median, p90, min, max }], total }' })
  async stageDuration(@Query() query: StageDurationQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await stageDurationReport(this.source, query.groupBy, toWindow(query)), COLUMNS.stageDuration);
  }

  @Get('close-date-pushes')
  @ApiOperation({
    summary: "Changes of an open opportunity's close date to a later date, made (business time) in the window",
    description:
      'Per group (the owner now, the stage at the push, or the month of the push): pushes, opportunities (distinct opportunities pushed, once per row; the total counts each once), daysPushed (sum of the days each push moved the date).' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, pushes, opportunities, daysPushed }], total }' })
  async closeDatePushes(@Query() query: CloseDatePushesQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await closeDatePushesReport(this.source, query.groupBy, toWindow(query)), COLUMNS.closeDatePushes);
  }

  @Get('speed-to-lead')
  @ApiOperation({
    summary: 'How soon the leads captured (business time) in the window were first touched',
    description:
      'A first touch is the earliest of the first event that takes the lead out of New (worked, qualified, disqualified, converted) and the first Call, Email or Meeting activity logged on it. Per group (current source or owner, or month of capture): captured, touched (by now), untouched, median and p90 (nearest rank) of first touch − capture in seconds over the touched leads (null when none), within5Minutes (touched within 300 s), within5MinutesRate = within5Minutes / captured (4 decimals, 0 when none). Merged leads count nowhere.' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, captured, touched, untouched, median, p90, within5Minutes, within5MinutesRate }], total }' })
  async speedToLead(@Query() query: SpeedToLeadQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await speedToLeadReport(this.source, query.groupBy, toWindow(query)), COLUMNS.speedToLead);
  }

  @Get('source-revenue')
  @ApiOperation({
    summary: 'Opportunities closed (business time) in the window, by the lead source they carry',
    description:
      'Per group (the leadSource of the opportunity, null for one opened without a lead, or the month of the close): won, lost, wonAmount, lostAmount, winRate = won / (won + lost) (4 decimals, 0 when none).' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, won, lost, wonAmount, lostAmount, winRate }], total }' })
  async sourceRevenue(@Query() query: SourceRevenueQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await sourceRevenueReport(this.source, query.groupBy, toWindow(query)), COLUMNS.sourceRevenue);
  }

  @Get('campaign-influence')
  @ApiOperation({
    summary: 'Leads captured (business time) in the window, by their primary campaign, with what they became',
    description:
      'Per campaign (key: campaign id; null for leads without one): leads (captured in the window whose primary campaign it is), converted, opportunities (opened by those conversions), ' +
      'wonAmount (of those opportunities, closed won whenever), costPerLead = budget / leads (money, null without a budget). A lead\'s primary campaign is the last campaign it responded to at or before its conversion ' +
      '(by now when not converted; business time; campaignId at capture is a response at capture; of two responses at one instant the one recorded later). Merged leads count nowhere. ' +
      'The total\'s costPerLead is the budgets of the rows\' campaigns that have one over those campaigns\' leads.' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ groupBy, rows: [{ key, leads, converted, opportunities, wonAmount, costPerLead }], total }' })
  async campaignInfluence(@Query() query: CampaignInfluenceQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.answer(request, reply, await campaignInfluenceReport(this.campaignSource, query.groupBy, toWindow(query)), COLUMNS.campaignInfluence);
  }

  /** JSON, or as CSV when the client asks for text/csv: the rows, then the total as a row keyed `total`. */
  private answer<R extends { rows: object[]; total: object }>(request: FastifyRequest, reply: FastifyReply, report: R, columns: string[]): R | string {
    if (!wantsCsv(request)) return report;
    return csvOf(reply, [...(report.rows as Record<string, unknown>[]), { ...report.total, key: 'total' }], columns);
  }
}

function toWindow({ from, to }: ReportWindowDto): DayWindow {
  const window = { from: from === undefined ? undefined : dayOfDate(from), to: to === undefined ? undefined : dayOfDate(to) };
  if (window.from !== undefined && window.to !== undefined && window.from > window.to) {
    throw invalidInput([{ field: 'to', message: 'to must not be before from' }]);
  }
  return window;
}
