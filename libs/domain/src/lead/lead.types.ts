export const LEAD_STATUSES = ['New', 'Working', 'Nurturing', 'Qualified', 'Unqualified', 'Converted', 'Merged'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

export const LEAD_SOURCES = [
  'Web',
  'Phone',
  'Email',
  'Event',
  'Partner Referral',
  'Advertisement',
  'Purchased List',
  'Other',
] as const;
export type LeadSource = (typeof LEAD_SOURCES)[number];

export const LEAD_RATINGS = ['Hot', 'Warm', 'Cold'] as const;
export type LeadRating = (typeof LEAD_RATINGS)[number];

/** Statuses a lead may be worked into with `POST /leads/:id/work`. */
export const WORK_STATUSES = ['Working', 'Nurturing'] as const;
export type WorkStatus = (typeof WORK_STATUSES)[number];

/** The fields set at capture and changed by `PATCH /leads/:id` (owner and status have their own events). */
export interface LeadDetails {
  lastName: string;
  company: string;
  firstName?: string;
  email?: string;
  phone?: string;
  title?: string;
  source: LeadSource;
  industry?: string;
  annualRevenue?: number;
  numberOfEmployees?: number;
  rating?: LeadRating;
  description?: string;
  /** ISO 3166-1 alpha-2, upper-case; maps to the account at conversion. */
  country?: string;
  /** What the lead asked about (1–100 chars); maps to the opportunity at conversion. */
  productInterest?: string;
  /** The campaign the lead responded to at capture (set at capture only; a PATCH does not take it). */
  campaignId?: string;
}

/** BANT qualification notes. */
export interface LeadQualification {
  budget?: string;
  authority?: string;
  need?: string;
  timeline?: string;
  note?: string;
}

/** A lead as its events make it: the decider's state and the record auditors see. */
export interface Lead extends LeadDetails {
  id: string;
  status: LeadStatus;
  ownerId?: string;
  capturedAt: string;
  lastModifiedAt: string;
  qualification?: LeadQualification;
  qualifiedAt?: string;
  disqualificationReason?: string;
  isConverted: boolean;
  convertedAt?: string;
  convertedAccountId?: string;
  convertedContactId?: string;
  /** null when the conversion opened no opportunity. */
  convertedOpportunityId?: string | null;
  /** The lead this one was merged into. */
  mergedIntoId?: string;
  /** Business time of the latest engagement (web visit, form fill…), when there was one. */
  lastEngagedAt?: string;
  /** When the person's personal data was erased (its fields then read "[erased]"). */
  personalDataErasedAt?: string;
}

/** Lead fields that a merge fills on the survivor when they are blank there. */
export const MERGE_FILLABLE_FIELDS = [
  'firstName',
  'email',
  'phone',
  'title',
  'industry',
  'annualRevenue',
  'numberOfEmployees',
  'rating',
  'description',
  'country',
  'productInterest',
] as const satisfies readonly (keyof LeadDetails)[];
