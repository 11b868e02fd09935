import 'reflect-metadata';
import {
  accountDecider,
  contactDecider,
  Decider,
  DomainEvent,
  LEAD_SOURCES,
  leadDecider,
  LeadState,
  OPEN_STAGES,
  opportunityDecider,
} from '@crm/domain';
import { deterministicUuid, EventToAppend, SqliteEventStore } from '@crm/event-store';
import { ALL_READ_MODEL_PROJECTIONS, dayOfDate, Projector, SqliteReadStore } from '@crm/read-models';
import {
  closeDatePushesReport,
  conversionRateReport,
  DayWindow,
  pipelineAsOfReport,
  pipelineMovementReport,
  pipelineReport,
  ReportSource,
  sourceRevenueReport,
  speedToLeadReport,
  stageDurationReport,
  timeToConversionReport,
} from '@crm/reports';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, peakRssMiB, printTable } from './support';
import { prng } from './seeded-random';

/**
 * BENCH_LEADS leads (default 1,000,000) go through the domain's deciders into the embedded
 * store (not over HTTP; about five events each), every read model and report view catches up,
 * then each report and groupBy is timed over all time and over one month.
 *   npm run bench:reports
 *   BENCH_LEADS=100000 BENCH_RUNS=50 npm run bench:reports
 * BENCH_DATA_DIR keeps the data folder (a second run on it loads nothing and catches up from the
 * checkpoints: the queries alone); BENCH_ONLY=<regex> times only the reports whose name matches.
 */
const LEADS = Number(process.env.BENCH_LEADS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const DATA_DIR = process.env.BENCH_DATA_DIR;
const ONLY = new RegExp(process.env.BENCH_ONLY ?? '');
const OWNERS = Array.from({ length: 40 }, (_, i) => `rep-${i}`);
const START = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

/** Seeded, so that every run loads the same history. */
const { next: random, pick } = prng(42);

/** Runs commands through a decider, collecting the events as a stream's appends. */
function stream<C, E extends DomainEvent, S>(decider: Decider<C, E, S>, streamId: string) {
  let state = decider.initialState;
  const events: EventToAppend[] = [];
  return {
    streamId,
    events,
    get state() {
      return state;
    },
    run(command: C & { occurredAt: string }) {
      for (const event of decider.decide(command, state)) {
        state = decider.evolve(state, { ...event, occurredAt: command.occurredAt });
        events.push({
          id: deterministicUuid(streamId, String(events.length)),
          type: event.type,
          data: event.data as Record<string, unknown>,
          metadata: { actorId: 'bench', occurredAt: command.occurredAt, correlationId: streamId, causationId: streamId },
        });
      }
    },
  };
}

/** One lead's life: captured, worked, maybe reassigned, qualified, converted (with a deal, sometimes closed). */
function leadLife(n: number) {
  const leadId = deterministicUuid('bench-lead', String(n));
  // Captures run through two years in order, as a live log is written (each lead's own steps follow within days).
  let at = START + Math.floor((n / LEADS) * 730 * DAY + random() * DAY);
  const next = () => new Date((at += Math.floor(random() * 5 * DAY) + 60_000)).toISOString();
  const lead = stream(leadDecider, `lead-${leadId}`);
  const streams: { streamId: string; events: EventToAppend[] }[] = [lead];
  lead.run({ type: 'CaptureLead', leadId, occurredAt: new Date(at).toISOString(), details: { lastName: `L${n}`, company: `Company ${n}`, email: `l${n}@bench.test`, source: pick(LEAD_SOURCES) }, ownerId: random() < 0.9 ? pick(OWNERS) : undefined });
  lead.run({ type: 'WorkLead', leadId, occurredAt: next(), status: 'Working' });
  if (random() < 0.3) lead.run({ type: 'AssignLead', leadId, occurredAt: next(), ownerId: pick(OWNERS) });
  if (random() < 0.6) {
    lead.run({ type: 'QualifyLead', leadId, occurredAt: next() });
    if (random() < 0.55) {
      const convertedAt = next();
      const ids = { account: deterministicUuid(leadId, 'a'), contact: deterministicUuid(leadId, 'c'), opportunity: deterministicUuid(leadId, 'o') };
      const withDeal = random() < 0.6;
      const closeDate = new Date(at + Math.floor(random() * 180 * DAY)).toISOString().slice(0, 10);
      const deal = { id: ids.opportunity, name: `Deal ${n}`, closeDate, stage: pick(OPEN_STAGES.slice(0, 4)), amount: Math.round(random() * 10_000_000) / 100 };
      lead.run({ type: 'ConvertLead', leadId, occurredAt: convertedAt, account: { id: ids.account, existing: null }, contact: { id: ids.contact, existing: null }, opportunity: withDeal ? deal : null });
      const converted = (lead.state as NonNullable<LeadState>) && lead.events[lead.events.length - 1].data as Record<string, any>;
      const account = stream(accountDecider, `account-${ids.account}`);
      account.run({ type: 'OpenAccount', accountId: ids.account, occurredAt: convertedAt, details: converted.newAccount, leadSource: converted.leadSource });
      const contact = stream(contactDecider, `contact-${ids.contact}`);
      contact.run({ type: 'AddContact', contactId: ids.contact, occurredAt: convertedAt, accountId: ids.account, accountExists: true, details: converted.newContact, leadSource: converted.leadSource });
      streams.push(account, contact);
      if (withDeal) {
        const opportunity = stream(opportunityDecider, `opportunity-${ids.opportunity}`);
        opportunity.run({ type: 'OpenOpportunity', opportunityId: ids.opportunity, occurredAt: convertedAt, accountId: ids.account, accountExists: true, ...converted.opportunity, leadSource: converted.leadSource });
        if (random() < 0.4) opportunity.run({ type: 'CloseOpportunity', opportunityId: ids.opportunity, occurredAt: next(), ...(random() < 0.5 ? { won: true as const } : { won: false as const, reason: 'Price' }) });
        streams.push(opportunity);
      }
    }
  }
  return streams;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1];
}

async function main() {
  const dir = DATA_DIR ?? mkdtempSync(join(tmpdir(), 'crm-reports-bench-'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'crm.sqlite');
  const events = SqliteEventStore.open(file);
  try {
    const loadStart = Date.now();
    const loaded = (await events.headPosition()) >= 0n;
    for (let first = 0; first < (loaded ? 0 : LEADS); first += 1000) {
      const appends = [];
      for (let n = first; n < Math.min(first + 1000, LEADS); n++) for (const s of leadLife(n)) appends.push(events.append(s.streamId, s.events, 'no_stream'));
      await Promise.all(appends);
    }
    const head = await events.headPosition();
    const loadSeconds = (Date.now() - loadStart) / 1000;

    const store = SqliteReadStore.open(file);
    const projector = new Projector(events, store, ALL_READ_MODEL_PROJECTIONS, process.env.BENCH_BATCH ? { batchSize: Number(process.env.BENCH_BATCH) } : {});
    const catchUpStart = Date.now();
    projector.start();
    if (!(await projector.waitFor(head, 60 * 60_000))) throw new Error('catch-up did not finish');
    const catchUpSeconds = (Date.now() - catchUpStart) / 1000;
    await projector.stop();

    const source: ReportSource = { store, versionOf: async (readModel) => (await store.readModelState(readModel)).activeVersion };
    const windows: [string, DayWindow][] = [
      ['all time', {}],
      ['one month (2025-03)', { from: dayOfDate('2025-03-01'), to: dayOfDate('2025-04-01') }],
    ];
    const cases: [string, string, (w: DayWindow) => Promise<unknown>][] = [
      ...(['source', 'ownerId', 'month'] as const).map((g): [string, string, (w: DayWindow) => Promise<unknown>] => ['conversion-rate', g, (w) => conversionRateReport(source, g, w)]),
      ...(['source', 'ownerId', 'month'] as const).map((g): [string, string, (w: DayWindow) => Promise<unknown>] => ['time-to-conversion', g, (w) => timeToConversionReport(source, g, w)]),
      ...(['stage', 'ownerId', 'closeMonth'] as const).map((g): [string, string, (w: DayWindow) => Promise<unknown>] => ['pipeline', g, (w) => pipelineReport(source, g, w)]),
      ...(['stage', 'ownerId'] as const).map((g): [string, string, (w: DayWindow) => Promise<unknown>] => ['stage-duration', g, (w) => stageDurationReport(source, g, w)]),
      ...(['ownerId', 'stage', 'month'] as const).map((g): [string, string, (w: DayWindow) => Promise<unknown>] => ['close-date-pushes', g, (w) => closeDatePushesReport(source, g, w)]),
      ...(['source', 'ownerId', 'month'] as const).map((g): [string, string, (w: DayWindow) => Promise<unknown>] => ['speed-to-lead', g, (w) => speedToLeadReport(source, g, w)]),
      ...(['source', 'month'] as const).map((g): [string, string, (w: DayWindow) => Promise<unknown>] => ['source-revenue', g, (w) => sourceRevenueReport(source, g, w)]),
      // Movement needs both ends: all time is the history's first day to a day after its last.
      ['pipeline-movement', '-', (w) => pipelineMovementReport(source, { from: w.from ?? dayOfDate('2024-12-01'), to: w.to ?? dayOfDate('2027-01-01') })],
      // The pipeline as it stood at ten instants spread over the history (one case per instant, by stage).
      ...Array.from({ length: 10 }, (_, i): [string, string, (w: DayWindow) => Promise<unknown>] => {
        const asOf = new Date(Date.UTC(2025, 0, 15) + i * 70 * 86_400_000 + 12_345_678).toISOString();
        return [`pipeline asOf ${asOf}`, 'stage', (w) => pipelineAsOfReport(source, 'stage', w, asOf)];
      }),
    ];
    const rows = [];
    for (const [windowName, window] of windows) {
      for (const [report, groupBy, run] of cases) {
        if (!ONLY.test(report)) continue;
        await run(window); // warm-up
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const start = process.hrtime.bigint();
          await run(window);
          times.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        times.sort((a, b) => a - b);
        rows.push({ report, groupBy, window: windowName, 'p50 ms': percentile(times, 0.5).toFixed(1), 'p99 ms': percentile(times, 0.99).toFixed(1) });
      }
    }
    await store.close();
    printTable(`Reports at ${LEADS.toLocaleString('en')} leads (${Number(head).toLocaleString('en')} events) — ${RUNS} runs each — ${machine()}`, rows);
    console.log(`load ${loadSeconds.toFixed(0)} s, catch-up of all read models ${catchUpSeconds.toFixed(0)} s (${Math.round(Number(head) / catchUpSeconds)} events/s), peak RSS ${peakRssMiB(process.pid)} MiB`);
  } finally {
    await events.close();
    if (!DATA_DIR) rmSync(dir, { recursive: true, force: true });
  }
}

void main();
