import { durationUnit, MOVEMENT, waterfallBars } from './reports';

describe('waterfallBars (the pipeline-movement chart)', () => {
  it('stands opening and closing on zero and floats each change from the running total', () => {
    const total = { opening: 1_000_000, new: 250_000.5, increased: 40_000, decreased: 15_000.25, won: 300_000, lost: 120_000, closing: 855_000.25 };
    expect(MOVEMENT.steps.map((s) => s.name)).toEqual(['opening', 'new', 'increased', 'decreased', 'won', 'lost', 'closing']);
    expect(waterfallBars(total)).toEqual([
      [0, 1_000_000],
      [1_000_000, 1_250_000.5],
      [1_250_000.5, 1_290_000.5],
      [1_275_000.25, 1_290_000.5],
      [975_000.25, 1_275_000.25],
      [855_000.25, 975_000.25],
      [0, 855_000.25],
    ]);
  });

  it('counts a missing amount as 0 (an empty pipeline draws flat bars)', () => {
    expect(waterfallBars({ opening: 0, closing: 0 })).toEqual([[0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]);
  });
});

describe('durationUnit (charts of durations)', () => {
  it('reads in days from two days on, in hours from two hours on, else in minutes; nulls are no values', () => {
    expect(durationUnit([null, 3 * 86_400])).toEqual({ label: 'days', seconds: 86_400 });
    expect(durationUnit([7_200.25, 100])).toEqual({ label: 'hours', seconds: 3_600 });
    expect(durationUnit([299.5, null])).toEqual({ label: 'minutes', seconds: 60 });
    expect(durationUnit([])).toEqual({ label: 'minutes', seconds: 60 });
  });
});
