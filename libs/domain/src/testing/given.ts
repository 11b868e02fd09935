import { Decider, DomainEvent, fold, Occurred } from '../shared/decider';

const DEFAULT_OCCURRED_AT = '2026-01-01T00:00:00.000Z';

/**
 * Decider specifications read as `given(decider, [events]).when(command).then([events])`
 * or `.thenRefuses(ErrorClass, { fields })`. Events given without a business time get one.
 */
export function given<C, E extends DomainEvent, S>(decider: Decider<C, E, S>, history: (E | Occurred<E>)[] = []) {
  const state = fold(
    decider,
    history.map((e) => ({ occurredAt: DEFAULT_OCCURRED_AT, ...e }) as Occurred<E>),
  );
  return {
    state,
    when(command: C) {
      const decide = () => decider.decide(command, state);
      return {
        then(expected: E[]) {
          expect(decide()).toEqual(expected);
        },
        thenRefuses(error: abstract new (...args: never[]) => Error, fields: Record<string, unknown> = {}) {
          let thrown: unknown;
          try {
            decide();
          } catch (e) {
            thrown = e;
          }
          expect(thrown).toBeInstanceOf(error);
          expect(thrown).toMatchObject(fields);
        },
      };
    },
  };
}
