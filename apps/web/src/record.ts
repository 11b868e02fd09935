import { ApiError, getJson } from './api';
import { formatInstant, h, NONE } from './format';
import { errorNotice } from './notice';
import { currentLocation, replaceQuery } from './router';

/** A record's event as `GET /<records>/:id/history` answers it. */
interface RecordedEvent {
  revision: number;
  position: string;
  type: string;
  data: Record<string, unknown>;
  metadata: { actorId?: string; onBehalfOf?: string; occurredAt?: string; recordedAt?: string; correlationId?: string; hash?: string };
}

interface FieldChange {
  field: string;
  oldValue: unknown;
  newValue: unknown;
  revision: number;
  actorId: string;
  onBehalfOf?: string | null;
  occurredAt: string;
  recordedAt: string;
}

export const RECORD_TYPES = [
  { value: 'leads', label: 'Lead' },
  { value: 'accounts', label: 'Account' },
  { value: 'contacts', label: 'Contact' },
  { value: 'opportunities', label: 'Opportunity' },
] as const;
type RecordType = (typeof RECORD_TYPES)[number]['value'];

/** Fields that name another record: shown as links to that record's page. */
const LINKED: Record<string, RecordType> = {
  accountId: 'accounts',
  convertedAccountId: 'accounts',
  parentId: 'accounts',
  contactId: 'contacts',
  convertedContactId: 'contacts',
  opportunityId: 'opportunities',
  convertedOpportunityId: 'opportunities',
  mergedIntoId: 'leads',
  leadId: 'leads',
  convertedFromLeadId: 'leads',
};

const isRecordType = (text: string | undefined): text is RecordType => RECORD_TYPES.some((t) => t.value === text);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `#/records`: open a record by type and id, or pick one of the latest leads. */
export function renderRecordFinder(page: HTMLElement): void {
  const type = h('select', { id: 'record-type', name: 'type' }, ...RECORD_TYPES.map((t) => h('option', { value: t.value }, t.label)));
  const id = h('input', { id: 'record-id', name: 'id', placeholder: 'record id (UUID)', required: '', pattern: UUID.source.slice(1, -1), spellcheck: 'false' });
  const form = h('form', { class: 'controls finder' }, h('label', {}, 'Record', type), h('label', { class: 'grow' }, 'Id', id), h('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    window.location.hash = `#/records/${type.value}/${id.value.trim()}`;
  });
  const latest = h('div', { class: 'latest', 'data-state': 'loading' }, h('p', {}, 'Loading the latest leads…'));
  page.replaceChildren(
    h(
      'section',
      { class: 'record-finder' },
      h('h1', {}, 'Record audit'),
      h('p', { class: 'summary' }, 'Every event of a record, who made it, when it happened (business time) and when it was recorded; and the record as it stood after any of them.'),
      form,
      h('h2', {}, 'Latest leads'),
      latest,
    ),
  );
  getJson<{ items: Record<string, unknown>[] }>('/leads', { limit: '20' }, 'reader').then(
    ({ items }) => {
      latest.dataset.state = 'ready';
      latest.replaceChildren(
        items.length === 0
          ? h('p', {}, 'No leads yet.')
          : h(
              'ul',
              { class: 'lead-list' },
              ...items.map((lead) =>
                h(
                  'li',
                  {},
                  h('a', { href: `#/records/leads/${lead.id}`, 'data-lead': String(lead.id) }, `${lead.company ?? ''} — ${[lead.firstName, lead.lastName].filter(Boolean).join(' ')}`),
                  h('span', { class: 'muted' }, ` ${lead.status ?? ''}`),
                ),
              ),
            ),
      );
    },
    (error) => {
      latest.dataset.state = 'error';
      latest.replaceChildren(errorNotice(error), h('p', { class: 'muted' }, 'You can still open any record by its id above.'));
    },
  );
}

/** `#/records/<type>/<id>?revision=n`: the timeline, the state after the chosen event, and the field history. */
export function renderRecord(page: HTMLElement, typeText: string, id: string): void {
  if (!isRecordType(typeText)) {
    page.replaceChildren(h('div', { class: 'notice error', role: 'alert' }, `There are no records of the kind "${typeText}".`));
    return;
  }
  const type: RecordType = typeText;
  const label = RECORD_TYPES.find((t) => t.value === type)!.label;
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Events, oldest first' });
  const state = h('div', { class: 'state', 'data-state': 'loading' });
  const fields = h('div', { class: 'field-history' });
  const notice = h('div', { class: 'notice-slot' });
  // Any business time, not only an event's: the record as the fold of its events up to then.
  const asOfInput = h('input', { id: 'record-asOf', type: 'datetime-local', step: '1', required: '' });
  const asOfForm = h('form', { class: 'controls as-of-form' }, h('label', {}, 'As of (business time, UTC)', asOfInput), h('button', { type: 'submit' }, 'Show'));
  asOfForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (asOfInput.value) void choose({ asOf: new Date(`${asOfInput.value}Z`).toISOString() });
  });
  const section = h(
    'section',
    { class: 'record', 'data-state': 'loading', 'data-record': `${type}/${id}` },
    h('p', { class: 'crumbs' }, h('a', { href: '#/records' }, 'Records'), ` › ${label}`),
    h('h1', {}, `${label} `, h('code', { class: 'id' }, id)),
    notice,
    h('div', { class: 'record-grid' }, h('div', { class: 'timeline-box' }, h('h2', {}, 'Timeline'), asOfForm, timeline), h('div', { class: 'state-box' }, state)),
    h('details', { class: 'fields-box', id: 'field-history' }, h('summary', {}, 'Field history (every change of every field, newest first)'), fields),
  );
  page.replaceChildren(section);

  let events: RecordedEvent[] = [];
  let sequence = 0;

  getJson<RecordedEvent[]>(`/${type}/${id}/history`, {}, 'auditor').then(
    (history) => {
      events = history;
      section.dataset.state = 'ready';
      timeline.replaceChildren(...history.map(eventItem));
      const { query } = currentLocation();
      const asked = Number(query.get('revision'));
      const asOf = query.get('asOf');
      if (asOf && !Number.isNaN(Date.parse(asOf))) {
        asOfInput.value = asOf.slice(0, 19);
        void choose({ asOf });
      } else if (query.has('revision') && history.some((e) => e.revision === asked)) void choose({ revision: asked });
      else if (history.length > 0) void choose({ revision: history[history.length - 1].revision });
    },
    (error) => {
      section.dataset.state = 'error';
      notice.replaceChildren(error instanceof ApiError && error.status === 404 ? h('div', { class: 'notice error', role: 'alert' }, `No ${label.toLowerCase()} has the id ${id}.`) : errorNotice(error));
    },
  );

  section.querySelector('details')!.addEventListener('toggle', function loadFields(this: HTMLDetailsElement) {
    if (!this.open || fields.dataset.state) return;
    fields.dataset.state = 'loading';
    fields.replaceChildren(h('p', {}, 'Loading…'));
    getJson<FieldChange[]>(`/${type}/${id}/field-history`, {}, 'auditor').then(
      (changes) => {
        fields.dataset.state = 'ready';
        fields.replaceChildren(fieldHistoryTable(changes));
      },
      (error) => {
        fields.dataset.state = 'error';
        fields.replaceChildren(errorNotice(error));
      },
    );
  });

  function eventItem(event: RecordedEvent): HTMLLIElement {
    const button = h(
      'button',
      { type: 'button', class: 'event', 'data-revision': String(event.revision), 'aria-pressed': 'false' },
      h('span', { class: 'event-type' }, `${event.revision} · ${event.type}`),
      h('span', { class: 'event-actor' }, `by ${event.metadata.actorId ?? NONE}${event.metadata.onBehalfOf ? ` for ${event.metadata.onBehalfOf}` : ''}`),
      h('span', { class: 'event-time' }, h('span', { class: 'muted' }, 'business '), h('time', { 'data-time': 'occurredAt' }, formatInstant(event.metadata.occurredAt))),
      h('span', { class: 'event-time' }, h('span', { class: 'muted' }, 'recorded '), h('time', { 'data-time': 'recordedAt' }, formatInstant(event.metadata.recordedAt))),
    );
    button.addEventListener('click', () => void choose({ revision: event.revision }));
    return h('li', {}, button);
  }

  /** Shows the record after one event (`revision`), or as it stood at a business time (`asOf`: the fold of its events up to then). */
  async function choose(point: { revision: number } | { asOf: string }): Promise<void> {
    const mine = ++sequence;
    replaceQuery('revision' in point ? { revision: String(point.revision) } : { asOf: point.asOf });
    state.dataset.state = 'loading';
    try {
      const query = 'revision' in point ? { revision: String(point.revision) } : { asOf: point.asOf };
      const then = await getJson<Record<string, unknown>>(`/${type}/${id}/state`, query, 'auditor');
      if (mine !== sequence) return;
      const revision = Number(then.revision);
      const event = events.find((e) => e.revision === revision);
      for (const button of timeline.querySelectorAll<HTMLButtonElement>('button.event')) {
        button.setAttribute('aria-pressed', String(button.dataset.revision === String(revision)));
      }
      const changed = new Set(Object.keys(event?.data ?? {}));
      state.replaceChildren(
        h('h2', {}, 'asOf' in point ? `As it stood at ${formatInstant(point.asOf)}: after revision ${revision}` : `As it stood after revision ${revision}`),
        h('p', { class: 'muted' }, `${event?.type ?? ''} · business time ${formatInstant(event?.metadata.occurredAt)} · recorded ${formatInstant(event?.metadata.recordedAt)}`),
        h(
          'table',
          { class: 'fields' },
          h('tbody', {}, ...Object.entries(then).map(([field, value]) => h('tr', { 'data-field': field, class: changed.has(field) ? 'changed' : undefined }, h('th', { scope: 'row' }, field), h('td', {}, valueNode(field, value))))),
        ),
      );
      state.dataset.revision = String(revision);
      state.dataset.state = 'ready';
    } catch (error) {
      if (mine !== sequence) return;
      for (const button of timeline.querySelectorAll<HTMLButtonElement>('button.event')) button.setAttribute('aria-pressed', 'false');
      state.dataset.state = 'error';
      state.dataset.revision = '';
      state.replaceChildren(
        error instanceof ApiError && error.status === 404 && 'asOf' in point
          ? h('div', { class: 'notice unavailable', role: 'status' }, `The ${label.toLowerCase()} did not exist yet at ${formatInstant(point.asOf)} (business time).`)
          : errorNotice(error),
      );
    }
  }
}

function valueNode(field: string, value: unknown): Node {
  if (value === null || value === undefined) return document.createTextNode(NONE);
  if (typeof value === 'string' && LINKED[field] && UUID.test(value)) return h('a', { href: `#/records/${LINKED[field]}/${value}` }, value);
  if (typeof value === 'object') return h('code', {}, JSON.stringify(value));
  return document.createTextNode(String(value));
}

function fieldHistoryTable(changes: FieldChange[]): HTMLElement {
  if (changes.length === 0) return h('p', {}, 'No field has changed.');
  const show = (value: unknown) => (value === null || value === undefined ? NONE : typeof value === 'object' ? JSON.stringify(value) : String(value));
  return h(
    'div',
    { class: 'table-box' },
    h(
      'table',
      { class: 'numbers changes' },
      h('thead', {}, h('tr', {}, ...['Field', 'Old', 'New', 'Rev.', 'Actor', 'Business time', 'Recorded'].map((title) => h('th', { scope: 'col', class: title === 'Rev.' ? 'num' : undefined }, title)))),
      h(
        'tbody',
        {},
        ...changes.map((c) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, c.field),
            h('td', {}, show(c.oldValue)),
            h('td', {}, show(c.newValue)),
            h('td', { class: 'num' }, String(c.revision)),
            h('td', {}, `${c.actorId}${c.onBehalfOf ? ` for ${c.onBehalfOf}` : ''}`),
            h('td', {}, formatInstant(c.occurredAt)),
            h('td', {}, formatInstant(c.recordedAt)),
          ),
        ),
      ),
    ),
  );
}
