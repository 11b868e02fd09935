/**
 * Names shared by the write side and the read side, defined once. A record's stream is
 * `<prefix>-<id>`; a read model is what GET /projections lists and rebuilds.
 */
export const STREAM_PREFIXES = {
  lead: 'lead',
  account: 'account',
  contact: 'contact',
  opportunity: 'opportunity',
  activity: 'activity',
  task: 'task',
  assignmentRules: 'assignment-rules',
  scoringModel: 'scoring-model',
  leadImport: 'import',
  campaign: 'campaign',
} as const;

export const READ_MODELS = {
  leads: 'leads',
  accounts: 'accounts',
  contacts: 'contacts',
  opportunities: 'opportunities',
  activities: 'activities',
  tasks: 'tasks',
  leadScores: 'lead-scores',
  leadReports: 'lead-reports',
  opportunityReports: 'opportunity-reports',
  opportunityHistory: 'opportunity-history',
  campaigns: 'campaigns',
} as const;

export type ReadModelName = (typeof READ_MODELS)[keyof typeof READ_MODELS];
