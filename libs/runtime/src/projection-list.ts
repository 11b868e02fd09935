import { campaignsProjection, Projection, RECORD_PROJECTIONS, WORKING_LEADS_PROJECTIONS } from '@crm/read-models';
import { REPORT_PROJECTIONS } from '@crm/reports';

/** Every read model the projector maintains. */
export const PROJECTIONS = Symbol('PROJECTIONS');
/** Every read model: the records, the report views, and those of working leads. */
export const ALL_PROJECTIONS: Projection[] = [...RECORD_PROJECTIONS, ...REPORT_PROJECTIONS, ...WORKING_LEADS_PROJECTIONS, campaignsProjection];
