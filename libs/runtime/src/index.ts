export * from './app-config';
export * from './api-keys';
export * from './log-levels';
export * from './event-store.module';
export * from './projection-list';
export * from './read-side-core.module';
