export * from './read-store.port';
export * from './sqlite/sqlite-read-store';
export * from './projections/projection';
export * from './projections/record.projection';
export * from './projections/records';
export * from './projector/document-batch';
export * from './projector/projector';
export * from './projections/reports';
