/** What bench:capture and bench:capture-profile configure for their "rules+model" run. */
export const RULES = {
  rules: [
    { name: 'Phone leads', when: { source: 'Phone' }, ownerIds: ['rep-phone-1', 'rep-phone-2'] },
    { name: 'German partners', when: { source: 'Partner Referral', country: 'DE' }, ownerIds: ['rep-de-1'] },
    { name: 'Web leads', when: { source: 'Web' }, ownerIds: ['rep-web-1', 'rep-web-2', 'rep-web-3'] },
  ],
};
export const SCORING_MODEL = {
  fit: [
    { field: 'source', in: ['Web', 'Partner Referral'], points: 10 },
    { field: 'annualRevenue', min: 100000, points: 20 },
    { field: 'country', equals: 'DE', points: 5 },
  ],
  engagement: { WebVisit: 1, PricingPageVisit: 5, FormFill: 10 },
  mqlThreshold: 40,
};

/** Three assignment rules (a captured bench lead, source Web, matches the third) and a scoring model, through the admin routes. */
export async function configureRulesAndModel(url: string): Promise<void> {
  for (const [path, body] of [['/assignment-rules', RULES], ['/scoring-model', SCORING_MODEL]] as const) {
    const response = await fetch(`${url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
  }
}
