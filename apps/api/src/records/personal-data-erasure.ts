import { Injectable } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AggregateNotFound, LeadMerged } from '@crm/domain';
import { PersonalDataProtectingEventStore } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
import { latestPosition } from '../processes/completion-context';
import { CONTACT, LEAD, streamIdOf } from './aggregate-type';
import { CommandExecutor, CommandOutcome } from './command-executor';

export type ErasableRecord = 'lead' | 'contact';

export interface ErasureOutcome extends CommandOutcome<unknown> {
  /** Every record of the person whose personal data now reads "[erased]". */
  erased: { record: ErasableRecord; id: string }[];
}

/** `POST /leads/:id/erase`, `POST /contacts/:id/erase`. */
export class ErasePersonalDataCommand extends Command<ErasureOutcome> {
  constructor(
    readonly record: ErasableRecord,
    readonly id: string,
    readonly reason: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** A bound on the walk over merges, should stored data ever hold a loop. */
const MAX_PERSON_RECORDS = 1_000;

/**
 * Erasure by crypto-shredding (API.md v2, Audit). The person is every record that is them: a
 * lead, the leads merged into it (its survivor, for a merged lead), the contact it was converted
 * into (a contact converted from a lead is that lead's person). The handler destroys their keys
 * first, then appends `PersonalDataErased` to each record not erased yet, the named one last:
 * a crash in between leaves the data erased already, and a repeated request completes the
 * records and answers 409 for the named one once it is done.
 */
@Injectable()
@CommandHandler(ErasePersonalDataCommand)
export class ErasePersonalDataHandler implements ICommandHandler<ErasePersonalDataCommand> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly store: PersonalDataProtectingEventStore,
  ) {}

  async execute({ record, id, reason, context }: ErasePersonalDataCommand): Promise<ErasureOutcome> {
    const records = await this.recordsOfPerson(record, id);
    const streams = records.map((r) => streamIdOf(r.record === 'lead' ? LEAD : CONTACT, r.id));
    // Every key the records' events were encrypted under, and a tombstone under each record's id (for events stored in plaintext before encryption).
    await this.store.erase(streams, new Date().toISOString());

    const occurredAt = new Date().toISOString();
    const positions: bigint[] = [];
    for (const other of records) {
      if (other.record === record && other.id === id) continue;
      const state = other.record === 'lead' ? await this.executor.load(LEAD, other.id) : await this.executor.load(CONTACT, other.id);
      if (!state || state.personalDataErasedAt) continue;
      // Its own idempotency key per record, derived from the request's (one key never names events of two streams);
      // If-Match names the revision of the named record only.
      const { expectedRevision: _named, ...rest } = context;
      const derived = { ...rest, ...(context.idempotencyKey && { idempotencyKey: `${context.idempotencyKey}:${other.record}-${other.id}` }) };
      positions.push((await this.erasureOf(other.record, other.id, reason, occurredAt, derived)).position);
    }
    const outcome = await this.erasureOf(record, id, reason, occurredAt, context);
    return { ...outcome, position: latestPosition(outcome.position, ...positions), erased: records };
  }

  private erasureOf(record: ErasableRecord, id: string, reason: string, occurredAt: string, context: CommandContext) {
    return record === 'lead'
      ? this.executor.execute(LEAD, id, { type: 'EraseLeadPersonalData', leadId: id, occurredAt, reason }, context, { catchUpBusinessTime: true })
      : this.executor.execute(CONTACT, id, { type: 'EraseContactPersonalData', contactId: id, occurredAt, reason }, context, { catchUpBusinessTime: true });
  }

  /** The named record (404 when it does not exist) and every other record of the same person. */
  private async recordsOfPerson(record: ErasableRecord, id: string): Promise<{ record: ErasableRecord; id: string }[]> {
    let root: string;
    if (record === 'contact') {
      if ((await this.executor.load(CONTACT, id)) === null) throw new AggregateNotFound('Contact', id);
      const person = await this.store.personOf(streamIdOf(CONTACT, id));
      if (!person.startsWith(`${LEAD.streamPrefix}-`)) return [{ record, id }];
      root = person.slice(LEAD.streamPrefix.length + 1);
    } else {
      if ((await this.executor.load(LEAD, id)) === null) throw new AggregateNotFound('Lead', id);
      root = id;
    }
    // A merged lead's person is its survivor's.
    for (let hops = 0; hops < MAX_PERSON_RECORDS; hops++) {
      const survivor: string | undefined = (await this.executor.load(LEAD, root))?.mergedIntoId;
      if (!survivor) break;
      root = survivor;
    }
    const found = new Map<string, { record: ErasableRecord; id: string }>();
    const add = (r: ErasableRecord, recordId: string) => found.set(`${r}-${recordId}`, { record: r, id: recordId });
    add(record, id);
    const leads = [root];
    const visited = new Set<string>();
    while (leads.length > 0 && visited.size < MAX_PERSON_RECORDS) {
      const leadId = leads.pop()!;
      if (visited.has(leadId)) continue;
      visited.add(leadId);
      add('lead', leadId);
      for (const event of await this.store.readStream(streamIdOf(LEAD, leadId))) {
        if (event.type === 'LeadMerged') leads.push(...(event.data as LeadMerged['data']).duplicateIds);
        if (event.type === 'LeadConverted') add('contact', String(event.data.contactId));
      }
    }
    return [...found.values()];
  }
}

/** The OpenAPI description of both erase routes. */
export const ERASURE_DESCRIPTION =
  'Role admin. Destroys the person\'s key (crypto-shredding: personal fields are stored in the events encrypted under a key per person, kept in a key store beside the read models, never in the log) ' +
  'and appends `PersonalDataErased` { reason } (no personal data in it) to every record of the person: the lead, the leads merged into it (or, for a merged lead, its survivor\'s), and the contact it was converted into; ' +
  'a contact converted from a lead is that lead\'s person. From then on names, email, phone, title and description read "[erased]" in records, lists, history, state, field history and CSV, also after a rebuild; ' +
  'reports do not change; the erased email no longer counts as a duplicate; no event is rewritten or deleted, so every hash chain still verifies. ' +
  'The record itself stays (status, owner, company, dates) and accepts commands, but no new personal data (409 personal-data-erased). ' +
  'The response adds `erased: [{ record, id }]`. Erasing a record already erased: 409 personal-data-already-erased (after completing any record of the person a crash left unerased). ' +
  'No reason: 400 naming `reason`; unknown id: 404.';
