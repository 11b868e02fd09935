import { Projection, RECORD_PROJECTIONS, REPORT_PROJECTIONS } from '@crm/read-models';

/** Every read model the projector maintains. */
export const PROJECTIONS = Symbol('PROJECTIONS');
export const ALL_PROJECTIONS: Projection[] = [...RECORD_PROJECTIONS, ...REPORT_PROJECTIONS];
