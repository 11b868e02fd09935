export * from './report-window';
export * from './reports';
export * from './csv';
export * from './history-reports';
export * from './campaign-influence';
