export * from './report-window';
export * from './reports';
export * from './value-statistics';
export * from './csv';
export * from './history-reports';
export * from './campaign-influence';
