import { ALL_READ_MODEL_PROJECTIONS, Projection } from '@crm/read-models';

/** Every read model the projector maintains. */
export const PROJECTIONS = Symbol('PROJECTIONS');
export const ALL_PROJECTIONS: Projection[] = ALL_READ_MODEL_PROJECTIONS;
