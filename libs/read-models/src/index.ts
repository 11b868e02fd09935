export * from './read-store.port';
export * from './lease-owner';
export * from './sqlite/sqlite-read-store';
export * from './projections/projection';
export * from './projections/record.projection';
export * from './projections/records';
export * from './projector/document-batch';
export * from './projector/projector';
export * from './projections/define-projection';
export * from './projections/working-leads';
export * from './projections/campaigns';


export * from './verification/verify-read-models';
export * from './keys/sqlite-key-store';
export * from './projector/until-settled';
export * from './projector/log-follower';
export * from './reactors/define-reactor';
export * from './reactors/reactor-runner';
export { IGNORED, type Recorded } from './projections/define-projection';
