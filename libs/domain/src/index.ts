export * from './shared/decider';
export * from './shared/domain-error';
export * from './shared/record-fields';
export * from './lead/lead.types';
export * from './lead/lead.events';
export * from './lead/lead.commands';
export * from './lead/lead.errors';
export * from './lead/lead.decider';
