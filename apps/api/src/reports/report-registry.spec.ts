import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { REPORT_FOLDERS, REPORT_ROUTES } from '@crm/reports';
import { ALL_PROJECTIONS } from '@crm/runtime/projection-list';
import { ROUTE_ROLES } from '../auth/route-roles';
import { RecordsHttpModule } from '../records-http.module';
import { ReportsController } from './reports.controller';

/**
 * A report folder is registered by one line (REPORT_FOLDERS): its projections, its routes and
 * their roles must then all be where the service looks for them, with nothing declared twice.
 */
describe('the report registry', () => {
  const routeMethods = () =>
    Object.getOwnPropertyNames(ReportsController.prototype)
      .filter((name) => name !== 'constructor')
      .map((name) => ({ name, handler: (ReportsController.prototype as unknown as Record<string, object>)[name] }))
      .filter(({ handler }) => typeof handler === 'function' && Reflect.getMetadata(PATH_METADATA, handler) !== undefined);

  it('puts every folder\'s projections in the projection list, once', () => {
    const projections = REPORT_FOLDERS.flatMap((folder) => folder.projections);
    expect(projections.length).toBeGreaterThan(0);
    for (const projection of projections) expect(ALL_PROJECTIONS.filter((p) => p === projection)).toHaveLength(1);
    const names = ALL_PROJECTIONS.map((p) => p.readModel);
    expect(new Set(names).size).toBe(names.length);
  });

  it('makes every route a GET of the reports controller, and no other', () => {
    const methods = routeMethods();
    expect(Reflect.getMetadata(PATH_METADATA, ReportsController)).toBe('reports');
    expect(methods.map(({ handler }) => Reflect.getMetadata(PATH_METADATA, handler)).sort()).toEqual(REPORT_ROUTES.map((route) => route.path).sort());
    for (const { handler } of methods) expect(Reflect.getMetadata(METHOD_METADATA, handler)).toBe(RequestMethod.GET);
    expect(Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, RecordsHttpModule)).toContain(ReportsController);
  });

  it('gives every route the role its folder declares, and the table no report route of its own', () => {
    for (const route of REPORT_ROUTES) expect([route.path, ROUTE_ROLES[`GET /reports/${route.path}`]]).toEqual([route.path, route.role]);
    const reportEntries = Object.keys(ROUTE_ROLES).filter((entry) => entry.startsWith('GET /reports/'));
    expect(reportEntries.sort()).toEqual(REPORT_ROUTES.map((route) => `GET /reports/${route.path}`).sort());
  });

  it('declares each path once', () => {
    const paths = REPORT_ROUTES.map((route) => route.path);
    expect(new Set(paths).size).toBe(paths.length);
  });
});
