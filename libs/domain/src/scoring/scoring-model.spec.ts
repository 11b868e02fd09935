import { canonicalJson } from '../shared/canonical-json';
import { given } from '../testing/given';
import { ScoringModel, scoringModelDecider, scoreLead } from './scoring-model';

const model: ScoringModel = {
  fit: [
    { field: 'industry', equals: 'Software', points: 20 },
    { field: 'country', in: ['DE', 'AT', 'CH'], points: 10 },
    { field: 'numberOfEmployees', min: 100, points: 15 },
  ],
  engagement: { PricingPageVisit: 10, WebVisit: 1 },
  mqlThreshold: 50,
};
const at = '2026-02-01T10:00:00.000Z';

describe('scoring model decider', () => {
  it('records a model', () => {
    given(scoringModelDecider).when({ type: 'ChangeScoringModel', occurredAt: at, model }).then([{ type: 'ScoringModelChanged', data: model }]);
  });

  it('appends nothing for the same model again', () => {
    given(scoringModelDecider, [{ type: 'ScoringModelChanged', data: model }]).when({ type: 'ChangeScoringModel', occurredAt: at, model }).then([]);
  });

  it('appends nothing for the same model stored with its keys in another order (as the embedded store sorts them)', () => {
    const stored = JSON.parse(canonicalJson(model)) as ScoringModel;
    expect(JSON.stringify(stored)).not.toBe(JSON.stringify(model));
    given(scoringModelDecider, [{ type: 'ScoringModelChanged', data: stored }]).when({ type: 'ChangeScoringModel', occurredAt: at, model }).then([]);
  });

  it('records a changed threshold', () => {
    const changed = { ...model, mqlThreshold: 30 };
    given(scoringModelDecider, [{ type: 'ScoringModelChanged', data: model }])
      .when({ type: 'ChangeScoringModel', occurredAt: at, model: changed })
      .then([{ type: 'ScoringModelChanged', data: changed }]);
  });
});

describe('scoreLead', () => {
  it('adds the fit points whose condition the fields meet, and the engagement points per engagement', () => {
    expect(scoreLead(model, { fields: { industry: 'Software', country: 'AT', numberOfEmployees: 99 }, engagements: { PricingPageVisit: 2, WebVisit: 3, FormFill: 1 } })).toEqual({
      score: 53,
      scoreBreakdown: [
        { reason: 'industry is Software', points: 20 },
        { reason: 'country is one of DE, AT, CH', points: 10 },
        { reason: 'WebVisit × 3', points: 3 },
        { reason: 'PricingPageVisit × 2', points: 20 },
      ],
    });
  });

  it('min is inclusive', () => {
    expect(scoreLead(model, { fields: { numberOfEmployees: 100 }, engagements: {} }).score).toBe(15);
  });

  it('without a model every lead scores 0', () => {
    expect(scoreLead(null, { fields: { industry: 'Software' }, engagements: { WebVisit: 4 } })).toEqual({ score: 0, scoreBreakdown: [] });
  });
});
