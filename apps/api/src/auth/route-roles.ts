import { REPORT_ROUTES } from '@crm/reports';
import type { Role } from '@crm/runtime/api-keys';

/** `open`: no key needed (health, docs). Anything else needs a key with that role. */
export type RouteAccess = Role | 'open';

/**
 * The role of every route, in one place (API.md v2, Security). Keys are `METHOD /path` as the
 * router knows them (`:id` for parameters); HEAD follows GET. A route missing here is refused
 * to everybody — deny by default — and the security suite fails for it.
 */
export const ROUTE_ROLES: Readonly<Record<string, RouteAccess>> = {
  'GET /health': 'open',
  'GET /health/live': 'open',
  'GET /health/ready': 'open',
  // The OpenAPI description and its browsable page (routes of @nestjs/swagger).
  'GET /docs': 'open',
  'GET /docs/': 'open',
  'GET /docs/index.html': 'open',
  'GET /docs/openapi.json': 'open',
  'GET /docs-yaml': 'open',
  'GET /docs/swagger-ui-init.js': 'open',
  'GET /docs/docs/swagger-ui-init.js': 'open',
  'GET /docs/LICENSE': 'open',
  'GET /docs/*': 'open',
  // The web app's static files (apps/web): open pages, whose every data call sends the user's key.
  'GET /app': 'open',
  'GET /app/*': 'open',

  'GET /leads': 'reader',
  'GET /leads/:id': 'reader',
  'POST /leads': 'writer',
  'PATCH /leads/:id': 'writer',
  'POST /leads/:id/assign': 'writer',
  'POST /leads/:id/work': 'writer',
  'POST /leads/:id/qualify': 'writer',
  'POST /leads/:id/disqualify': 'writer',
  'POST /leads/:id/reopen': 'writer',
  'POST /leads/:id/convert': 'writer',
  'POST /leads/:id/merge': 'writer',
  // Bulk (API.md v2): an import's report is the outcome of the writer's command (the refused lines to fix and send again).
  'POST /leads/import': 'writer',
  'GET /imports/:id': 'writer',
  'POST /leads/convert': 'writer',
  'POST /leads/:id/erase': 'admin',
  'GET /leads/:id/history': 'auditor',
  'GET /leads/:id/state': 'auditor',
  'GET /leads/:id/field-history': 'auditor',

  'GET /accounts': 'reader',
  'GET /accounts/:id': 'reader',
  'POST /accounts': 'writer',
  'PATCH /accounts/:id': 'writer',
  'GET /accounts/:id/history': 'auditor',
  'GET /accounts/:id/state': 'auditor',
  'GET /accounts/:id/field-history': 'auditor',

  'GET /contacts': 'reader',
  'GET /contacts/:id': 'reader',
  'POST /contacts': 'writer',
  'PATCH /contacts/:id': 'writer',
  'POST /contacts/:id/erase': 'admin',
  'GET /contacts/:id/history': 'auditor',
  'GET /contacts/:id/state': 'auditor',
  'GET /contacts/:id/field-history': 'auditor',

  'GET /opportunities': 'reader',
  'GET /opportunities/:id': 'reader',
  'POST /opportunities': 'writer',
  'PATCH /opportunities/:id': 'writer',
  'POST /opportunities/:id/stage': 'writer',
  'POST /opportunities/:id/contact-roles': 'writer',
  'POST /opportunities/:id/close': 'writer',
  'GET /opportunities/:id/history': 'auditor',
  'GET /opportunities/:id/state': 'auditor',
  'GET /opportunities/:id/field-history': 'auditor',

  // Working leads (API.md v2): activities and tasks are read by readers; the rules and the model are the admin's, to read and to change.
  'POST /leads/:id/engagements': 'writer',
  'POST /activities': 'writer',
  'GET /activities/:id': 'reader',
  'GET /activities/:id/history': 'auditor',
  'GET /activities/:id/state': 'auditor',
  'GET /activities/:id/field-history': 'auditor',
  'GET /leads/:id/activities': 'reader',
  'GET /contacts/:id/activities': 'reader',
  'GET /accounts/:id/activities': 'reader',
  'GET /opportunities/:id/activities': 'reader',
  'GET /tasks': 'reader',
  'GET /tasks/:id': 'reader',
  'POST /tasks': 'writer',
  'POST /tasks/:id/complete': 'writer',
  'GET /tasks/:id/history': 'auditor',
  'GET /tasks/:id/state': 'auditor',
  'GET /tasks/:id/field-history': 'auditor',
  'GET /assignment-rules': 'admin',
  'PUT /assignment-rules': 'admin',
  'GET /scoring-model': 'admin',
  'PUT /scoring-model': 'admin',
  // Campaigns (API.md v2): launched and joined by writers, read by readers.
  'POST /campaigns': 'writer',
  'POST /campaigns/:id/members': 'writer',
  'GET /campaigns': 'reader',
  'GET /campaigns/:id': 'reader',
  'GET /campaigns/:id/history': 'auditor',
  'GET /campaigns/:id/state': 'auditor',
  'GET /campaigns/:id/field-history': 'auditor',

  // Each report route's role is declared with the route, in its report folder (libs/reports).
  ...Object.fromEntries(REPORT_ROUTES.map((route) => [`GET /reports/${route.path}`, route.role])),

  'GET /audit/verify': 'auditor',

  'GET /metrics': 'admin',
  'GET /projections': 'admin',
  'GET /processes/reactors': 'admin',
  'GET /processes/parked': 'admin',
  'POST /processes/parked/:decisionId/retry': 'admin',
  'POST /projections/:name/rebuild': 'admin',
  'POST /projections/:name/retry': 'admin',
};

/** The access a request needs, by the route the router matched; undefined when none is declared. */
export function accessOf(method: string, routeUrl: string): RouteAccess | undefined {
  return ROUTE_ROLES[`${method === 'HEAD' ? 'GET' : method} ${routeUrl}`];
}
