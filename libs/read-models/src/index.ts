export * from './read-store.port';
export * from './lease-owner';
export * from './sqlite/sqlite-read-store';
export * from './projections/projection';
export * from './projections/record.projection';
export * from './projections/records';
export * from './projector/document-batch';
export * from './projector/projector';
export * from './projections/reports';

import { RECORD_PROJECTIONS } from './projections/records';
import { REPORT_PROJECTIONS } from './projections/reports';

/** Every read model: the records and the report views. */
export const ALL_READ_MODEL_PROJECTIONS = [...RECORD_PROJECTIONS, ...REPORT_PROJECTIONS];
export * from './verification/verify-read-models';
export * from './keys/sqlite-key-store';
