import { changeNodesBefore, changeNodesFrom } from './opportunity-history.projection';
import { dayOfDate } from '../shared/calendar';

/** The point-in-time pipeline sums the tree nodes before a day: each earlier change must be in exactly one of them, no later one in any. */
describe('the tree of pipeline changes by day', () => {
  const timesCounted = (changeDay: number, asOfDay: number) => {
    const before = new Set(changeNodesBefore(asOfDay));
    return changeNodesFrom(changeDay).filter((node) => before.has(node)).length;
  };

  it('counts a change once before every later day and never on or before its own day', () => {
    const days = [Date.parse('0000-01-01T00:00:00.000Z') / 86_400_000, dayOfDate('1900-01-01'), dayOfDate('1969-12-31'), dayOfDate('1970-01-01'), dayOfDate('2024-02-29'), dayOfDate('2025-01-01'), dayOfDate('2025-01-02'), dayOfDate('2026-12-01'), dayOfDate('9999-12-31')];
    for (let i = 0; i < 2000; i++) days.push(dayOfDate('2020-01-01') + ((i * 7919) % 4000));
    for (const change of days) {
      for (const asOf of [change - 1, change, change + 1, change + 30, change + 365, ...days.slice(0, 12)]) {
        expect([change, asOf, timesCounted(change, asOf)]).toEqual([change, asOf, change < asOf ? 1 : 0]);
      }
    }
  });

  it('reads about log2 of the history\'s days, not one set per month or day', () => {
    for (let day = dayOfDate('2020-01-01'); day < dayOfDate('2030-01-01'); day += 13) {
      expect(changeNodesBefore(day).length).toBeLessThanOrEqual(22);
      expect(changeNodesFrom(day).length).toBeLessThanOrEqual(22);
    }
  });
});
