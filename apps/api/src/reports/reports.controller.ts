import { applyDecorators, Controller, Get, Inject, Query, Req, Res, Type } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { READ_STORE, ReadStore } from '@crm/read-models';
import { dayOfDate, DayWindow, REPORT_ROUTES, ReportParam, ReportRoute, ReportSource } from '@crm/reports';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csvOf, wantsCsv } from '../common/csv-response';
import { DateField, EnumField, InstantField } from '../common/fields';
import { invalidInput } from '../common/problem';
import { ReadModels } from '../read-side/read-models';

const CSV_NOTE =
  ' Send `Accept: text/csv` for CSV: a header row, one line per row, then a line whose key is `total` with the total of the same columns' +
  ' (a statistic over no values is an empty cell, as it is null in JSON).';

/**
 * `GET /reports/<path>` for every route of the report folders (REPORT_ROUTES, libs/reports): each
 * route is declared in its folder, and made here into a method of this controller named after its
 * path (`conversion-rate` → `conversionRate`), with a query DTO of its parameters and its OpenAPI text.
 */
@ApiTags('reports')
@Controller('reports')
export class ReportsController {
  private readonly source: ReportSource;

  constructor(@Inject(READ_STORE) store: ReadStore, readModels: ReadModels) {
    this.source = { store, versionOf: (readModel) => readModels.versionOf(readModel) };
  }

  /** JSON, or as CSV when the client asks for text/csv: the rows, then the total as a row keyed `total`. */
  async answer(route: ReportRoute, query: Record<string, string | undefined>, request: FastifyRequest, reply: FastifyReply): Promise<object | string> {
    const report = await route.answer(this.source, query, toWindow(query));
    if (!wantsCsv(request)) return report;
    return csvOf(reply, [...(report.rows as Record<string, unknown>[]), { ...report.total, key: 'total' }], [...route.columns]);
  }
}

for (const route of REPORT_ROUTES) addRoute(ReportsController, route);

/** The method of one report route, decorated as a hand-written one would be (Nest and @nestjs/swagger read the same metadata). */
function addRoute(controller: Type<ReportsController>, route: ReportRoute): void {
  const name = route.path.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
  const prototype = controller.prototype;
  if (Object.hasOwn(prototype, name)) throw new Error(`Two report routes make the method ${name}`);
  const { [name]: method } = {
    [name](this: ReportsController, query: Record<string, string | undefined>, request: FastifyRequest, reply: FastifyReply) {
      return this.answer(route, query, request, reply);
    },
  };
  Object.defineProperty(prototype, name, { value: method, writable: true, configurable: true });
  // What TypeScript emits for `(@Query() query: Dto, @Req() request, @Res() reply)`: the validation pipe and the OpenAPI document read the DTO from it.
  Reflect.defineMetadata('design:paramtypes', [queryDtoOf(route, name), Object, Object], prototype, name);
  Query()(prototype, name, 0);
  Req()(prototype, name, 1);
  Res({ passthrough: true })(prototype, name, 2);
  applyDecorators(
    Get(route.path),
    ApiOperation({ summary: route.summary, description: route.description + CSV_NOTE }),
    ApiProduces('application/json', 'text/csv'),
    ApiOkResponse({ description: route.ok }),
  )(prototype, name, Object.getOwnPropertyDescriptor(prototype, name)!);
}

/** A class with one validated, documented field per query parameter of the route, in their order. */
function queryDtoOf(route: ReportRoute, name: string): Type {
  const dto = class {};
  Object.defineProperty(dto, 'name', { value: `${name[0].toUpperCase()}${name.slice(1)}QueryDto` });
  for (const [field, param] of Object.entries(route.query)) {
    Reflect.defineMetadata('design:type', String, dto.prototype, field);
    fieldOf(param)(dto.prototype, field);
  }
  return dto;
}

function fieldOf(param: ReportParam): PropertyDecorator {
  switch (param.kind) {
    case 'day':
      return DateField(param.presence, param.description);
    case 'instant':
      return InstantField(param.presence, param.description);
    case 'choice':
      return EnumField(param.presence, param.values);
  }
}

function toWindow({ from, to }: { from?: string; to?: string }): DayWindow {
  const window = { from: from === undefined ? undefined : dayOfDate(from), to: to === undefined ? undefined : dayOfDate(to) };
  if (window.from !== undefined && window.to !== undefined && window.from > window.to) {
    throw invalidInput([{ field: 'to', message: 'to must not be before from' }]);
  }
  return window;
}
