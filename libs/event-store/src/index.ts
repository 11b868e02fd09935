export * from './event-store.port';
export * from './occurred';
export * from './event-id';
export * from './sqlite/sqlite-event-store';
export * from './sqlite/open-sqlite-database';
export * from './eventstoredb/eventstoredb-event-store';
export * from './canonical-json';
export * from './hash-chain';
