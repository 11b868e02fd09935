import type { Projection } from '@crm/read-models';
import type { Role } from '@crm/runtime/api-keys';
import type { DayWindow } from './report-window';
import type { ReportSource } from './report-queries';

/**
 * A query parameter of a report route, as the HTTP layer validates and documents it (apps/api
 * turns each kind into the field decorator of the same kind: a day, an instant, a choice).
 */
export type ReportParam =
  | { kind: 'day'; presence: 'required' | 'optional'; description: string }
  | { kind: 'instant'; presence: 'required' | 'optional'; description: string }
  | { kind: 'choice'; presence: 'required'; values: readonly string[] };

export type ReportParams = Record<string, ReportParam>;

type ValueOf<P extends ReportParam> = P extends { kind: 'choice'; values: readonly (infer V)[] } ? V : string;
type RequiredParams<S extends ReportParams> = { [K in keyof S as S[K]['presence'] extends 'required' ? K : never]: ValueOf<S[K]> };
type OptionalParams<S extends ReportParams> = { [K in keyof S as S[K]['presence'] extends 'required' ? never : K]?: ValueOf<S[K]> };
/** The validated query of a route with the parameters S: a choice is the union of its values. */
export type QueryOf<S extends ReportParams> = RequiredParams<S> & OptionalParams<S>;

/** What a report answers: `{ groupBy, rows, total }` (API.md v2). */
export interface ReportAnswer {
  groupBy: string | null;
  rows: object[];
  total: object;
}

/**
 * One report's route, declared beside its query: `GET /reports/<path>`, the role it needs, its
 * query parameters, its OpenAPI text and CSV columns, and how it answers. apps/api makes the Nest
 * route of it (the method is the camel case of the path), the route-role table takes its role.
 */
export interface ReportRouteDefinition<S extends ReportParams, A extends ReportAnswer> {
  /** Under /reports/. */
  path: string;
  role: Role;
  summary: string;
  /** The OpenAPI description (apps/api adds how to ask for CSV). */
  description: string;
  /** The 200 response's description. */
  ok: string;
  /** In the order the OpenAPI document lists them; `from` and `to` are read as the report's window (UTC days). */
  query: S;
  answer(source: ReportSource, query: QueryOf<S>, window: DayWindow): Promise<A>;
}

/** A route with its types erased, as the registry lists it. */
export interface ReportRoute {
  path: string;
  role: Role;
  summary: string;
  description: string;
  ok: string;
  query: ReportParams;
  columns: readonly string[];
  answer(source: ReportSource, query: Record<string, string | undefined>, window: DayWindow): Promise<ReportAnswer>;
}

/**
 * Declares a report route, then its CSV columns: `key` and fields of the answer's total (so of
 * every row), a misspelled one a compile error. The answer sees the query's choices as unions.
 * (Two steps, since TypeScript infers the answer's type only after checking the object's other fields.)
 */
export function reportRoute<const S extends ReportParams, A extends ReportAnswer>(route: ReportRouteDefinition<S, A>) {
  return {
    csv: (...columns: ('key' | (keyof A['total'] & string))[]): ReportRoute => ({ ...(route as unknown as Omit<ReportRoute, 'columns'>), columns }),
  };
}

/**
 * A report folder: the projection(s) it owns and the routes of the reports it serves. Listed once
 * in REPORT_FOLDERS (registry.ts), from which the projection list, the report controller and the
 * route-role table are made.
 */
export interface ReportFolder {
  name: string;
  /** The read models this folder projects (none when its reports read a read model kept elsewhere). */
  projections: readonly Projection[];
  routes: readonly ReportRoute[];
}

/** The parameters every windowed report takes. */
const WINDOW_DOC = 'UTC day, YYYY-MM-DD; from inclusive, to exclusive; default: all time';
export const WINDOW = {
  from: { kind: 'day', presence: 'optional', description: WINDOW_DOC },
  to: { kind: 'day', presence: 'optional', description: WINDOW_DOC },
} as const satisfies ReportParams;

/** A required `groupBy` of these values. */
export const groupBy = <const V extends readonly string[]>(...values: V) => ({ kind: 'choice', presence: 'required', values }) as const;

/** The columns of a duration statistic (time to conversion, stage duration). */
export const STATS = ['count', 'mean', 'median', 'p90', 'min', 'max'] as const;
