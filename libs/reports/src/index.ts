export * from './shared/views';
export * from './shared/report-window';
export * from './shared/report-queries';
export * from './shared/csv';
export * from './opportunity-history/opportunity-history.queries';
export * from './campaign-influence/campaign-influence.query';
