import { READ_MODELS } from '@crm/domain';
import {
  CAMPAIGN_LEADS,
  CAMPAIGN_OPPORTUNITIES,
  CAMPAIGNS,
  CampaignDocument,
  CampaignLeadDocument,
  CampaignOpportunityDocument,
} from '@crm/read-models';
import { byKey, DayWindow, ratio } from '../shared/report-window';
import { currency, Report, ReportSource } from '../shared/report-queries';

export type CampaignInfluenceGroupBy = 'campaign';

export interface CampaignInfluenceRow {
  leads: number;
  converted: number;
  opportunities: number;
  wonAmount: number;
  /** budget / leads, money to 2 decimals; null without a budget or leads. */
  costPerLead: number | null;
}

const DAY_MS = 86_400_000;
const cents = (amount: number | undefined) => (amount === undefined ? 0n : BigInt(Math.round(amount * 100)));

interface Sums {
  leads: number;
  converted: number;
  opportunities: number;
  wonCents: bigint;
}

/**
 * Campaign influence (API.md v2): the leads captured (business time) in the window, by their
 * primary campaign (`null` for none) — `leads`, `converted`, `opportunities` (opened by those
 * conversions), `wonAmount` (of those opportunities, won whenever), `costPerLead = budget /
 * leads`. Merged leads count nowhere. The total's costPerLead is the budgets of the rows'
 * campaigns that have one over those campaigns' leads.
 *
 * It reads the attribution document of every lead captured in the window (a primary campaign
 * moves when a back-filled response comes in, so there is no bucket to keep): the cost grows
 * with the leads of the window.
 */
export async function campaignInfluenceReport(source: ReportSource, groupBy: CampaignInfluenceGroupBy, window: DayWindow): Promise<Report<CampaignInfluenceRow, CampaignInfluenceRow>> {
  const version = await source.versionOf(READ_MODELS.campaigns);
  if (window.from !== undefined && window.to !== undefined && window.from >= window.to) return { groupBy, rows: [], total: rowOf(emptySums(), undefined) };
  const leads = (await source.store.scan(CAMPAIGN_LEADS, version, {
    filter: {},
    from: window.from === undefined ? undefined : window.from * DAY_MS,
    to: window.to === undefined ? undefined : window.to * DAY_MS,
  })) as CampaignLeadDocument[];
  const counted = leads.filter((lead) => !lead.merged);
  const opportunityIds = counted.flatMap((lead) => (lead.opportunityId ? [lead.opportunityId] : []));
  const opportunities = await source.store.getMany(CAMPAIGN_OPPORTUNITIES, version, opportunityIds);

  const byCampaign = new Map<string | null, Sums>();
  for (const lead of counted) {
    const sums = byCampaign.get(lead.primaryCampaignId) ?? emptySums();
    sums.leads += 1;
    if (lead.convertedAt !== undefined) sums.converted += 1;
    if (lead.opportunityId) {
      sums.opportunities += 1;
      sums.wonCents += cents((opportunities.get(lead.opportunityId) as CampaignOpportunityDocument | undefined)?.wonAmount);
    }
    byCampaign.set(lead.primaryCampaignId, sums);
  }
  const campaignIds = [...byCampaign.keys()].filter((key): key is string => key !== null);
  const campaigns = await source.store.getMany(CAMPAIGNS, version, campaignIds);
  const budgetOf = (key: string | null) => (key === null ? undefined : (campaigns.get(key) as CampaignDocument | undefined)?.budget);

  const rows = [...byCampaign].map(([key, sums]) => ({ key, ...rowOf(sums, budgetOf(key)) }));
  const total = emptySums();
  let budgetCents = 0n;
  let budgetedLeads = 0;
  for (const [key, sums] of byCampaign) {
    total.leads += sums.leads;
    total.converted += sums.converted;
    total.opportunities += sums.opportunities;
    total.wonCents += sums.wonCents;
    const budget = budgetOf(key);
    if (budget !== undefined) {
      budgetCents += cents(budget);
      budgetedLeads += sums.leads;
    }
  }
  return { groupBy, rows: byKey(rows), total: { ...rowOf(total, undefined), costPerLead: costPerLead(budgetCents, budgetedLeads) } };
}

function emptySums(): Sums {
  return { leads: 0, converted: 0, opportunities: 0, wonCents: 0n };
}

function rowOf(sums: Sums, budget: number | undefined): CampaignInfluenceRow {
  return {
    leads: sums.leads,
    converted: sums.converted,
    opportunities: sums.opportunities,
    wonAmount: currency(sums.wonCents),
    costPerLead: budget === undefined ? null : costPerLead(cents(budget), sums.leads),
  };
}

/** Money to the cent, rounded half up; null over no leads. */
function costPerLead(budgetCents: bigint, leads: number): number | null {
  return leads === 0 ? null : ratio(Number(budgetCents), leads * 100, 2);
}
