import {
  ActivityCommand,
  activityDecider,
  ActivityEvent,
  ActivityState,
  AssignmentRulesCommand,
  assignmentRulesDecider,
  AssignmentRulesEvent,
  AssignmentRulesState,
  RelatedRecordFacts,
  RelatedTo,
  ScoringModelCommand,
  scoringModelDecider,
  ScoringModelEvent,
  ScoringModelState,
  TaskCommand,
  taskDecider,
  TaskEvent,
  TaskState,
  READ_MODELS,
  STREAM_PREFIXES,
} from '@crm/domain';
import { ACCOUNT, AggregateType, CONTACT, LEAD, LoadState, OPPORTUNITY } from '../records/aggregate-type';

/** What an activity or a task must know of the record it names: does it exist, its account, what a closed lead became. */
export async function relatedRecordFacts(relatedTo: RelatedTo, load: LoadState): Promise<RelatedRecordFacts> {
  switch (relatedTo.type) {
    case 'lead': {
      const lead = await load(LEAD, relatedTo.id);
      if (!lead) return { exists: false };
      if (lead.status === 'Converted') return { exists: true, closedLead: { status: 'Converted', becameId: lead.convertedContactId } };
      if (lead.status === 'Merged') return { exists: true, closedLead: { status: 'Merged', becameId: lead.mergedIntoId } };
      return { exists: true };
    }
    case 'contact': {
      const contact = await load(CONTACT, relatedTo.id);
      return contact ? { exists: true, accountId: contact.accountId } : { exists: false };
    }
    case 'opportunity': {
      const opportunity = await load(OPPORTUNITY, relatedTo.id);
      return opportunity ? { exists: true, accountId: opportunity.accountId } : { exists: false };
    }
    case 'account':
      return { exists: (await load(ACCOUNT, relatedTo.id)) !== null };
  }
}

export const ACTIVITY: AggregateType<ActivityCommand, ActivityEvent, ActivityState> = {
  name: 'Activity',
  streamPrefix: STREAM_PREFIXES.activity,
  readModel: READ_MODELS.activities,
  decider: activityDecider,
  async resolveFacts(command, { load }) {
    return { ...command, related: await relatedRecordFacts(command.relatedTo, load) };
  },
};

export const TASK: AggregateType<TaskCommand, TaskEvent, TaskState> = {
  name: 'Task',
  streamPrefix: STREAM_PREFIXES.task,
  readModel: READ_MODELS.tasks,
  decider: taskDecider,
  async resolveFacts(command, { load }) {
    return command.type === 'OpenTask' ? { ...command, related: await relatedRecordFacts(command.relatedTo, load) } : command;
  },
};

/** The assignment rules: one configuration stream, `assignment-rules-current`. */
export const ASSIGNMENT_RULES: AggregateType<AssignmentRulesCommand, AssignmentRulesEvent, AssignmentRulesState> = {
  name: 'Assignment rules',
  streamPrefix: STREAM_PREFIXES.assignmentRules,
  // Read from its stream (GET /assignment-rules, and each capture): there is no read model of it.
  readModel: 'assignment-rules',
  decider: assignmentRulesDecider,
};

/** The scoring model: one configuration stream, `scoring-model-current`. */
export const SCORING_MODEL: AggregateType<ScoringModelCommand, ScoringModelEvent, ScoringModelState> = {
  name: 'Scoring model',
  streamPrefix: STREAM_PREFIXES.scoringModel,
  // The model's read model is part of lead-scores; GET /scoring-model reads the stream.
  readModel: 'scoring-model',
  decider: scoringModelDecider,
};
