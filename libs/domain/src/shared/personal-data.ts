import { DomainError } from './domain-error';

/**
 * Personal data (API.md v2, Audit): the fields that name or reach a person. They are stored
 * encrypted under a key per person, and shown as ERASED once the person's key is destroyed.
 */
export const ERASED = '[erased]';

export const LEAD_PERSONAL_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'title', 'description'] as const;
export const CONTACT_PERSONAL_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'title'] as const;

const at = (container: string, fields: readonly string[]) => fields.map((field) => `${container}.${field}`);

/**
 * Where each event type carries personal data, as paths into its `data` (`changes.email`).
 * A conversion carries the contact's person fields, a merge the ones it fills on the survivor.
 */
export const PERSONAL_DATA_PATHS: Readonly<Record<string, readonly string[]>> = {
  LeadCaptured: LEAD_PERSONAL_FIELDS,
  LeadDetailsChanged: at('changes', LEAD_PERSONAL_FIELDS),
  LeadMerged: at('filled', LEAD_PERSONAL_FIELDS),
  LeadConverted: at('newContact', CONTACT_PERSONAL_FIELDS),
  ContactAdded: CONTACT_PERSONAL_FIELDS,
  ContactDetailsChanged: at('changes', CONTACT_PERSONAL_FIELDS),
};

/** The record with every personal field it has shown as ERASED. */
export function withPersonalFieldsErased<T extends object>(record: T, fields: readonly string[]): T {
  const erased = { ...record } as Record<string, unknown>;
  for (const field of fields) if (erased[field] !== undefined && erased[field] !== null) erased[field] = ERASED;
  return erased as T;
}

/** Erasure is done once per record: a second request has nothing left to erase. */
export class PersonalDataAlreadyErased extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'personal-data-already-erased';
  constructor(aggregate: string, id: string, erasedAt: string) {
    super(`The personal data of ${aggregate} ${id} was erased at ${erasedAt}`);
  }
}
