export * from './read-store.port';
export * from './lease-owner';
export * from './sqlite/sqlite-read-store';
export * from './projections/projection';
export * from './projections/record.projection';
export * from './projections/records';
export * from './projector/document-batch';
export * from './projector/projector';
export * from './projections/reports';
export * from './projections/working-leads';
export * from './projections/campaigns';

import { RECORD_PROJECTIONS } from './projections/records';
import { REPORT_PROJECTIONS } from './projections/reports';
import { WORKING_LEADS_PROJECTIONS } from './projections/working-leads';
import { campaignsProjection } from './projections/campaigns';

/** Every read model: the records, the report views, and those of working leads. */
export const ALL_READ_MODEL_PROJECTIONS = [...RECORD_PROJECTIONS, ...REPORT_PROJECTIONS, ...WORKING_LEADS_PROJECTIONS, campaignsProjection];
export * from './verification/verify-read-models';
export * from './keys/sqlite-key-store';
export * from './projector/until-settled';
export * from './reactors/define-reactor';
export * from './reactors/reactor-runner';
export { IGNORED, type Recorded } from './projections/define-projection';
