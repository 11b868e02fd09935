import { SpacedCalls } from './spaced-calls';

describe('SpacedCalls', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('calls at once after a quiet spell, then at most once per spacing however often asked', () => {
    const call = jest.fn();
    const calls = new SpacedCalls(10, call);
    calls.ask();
    expect(call).toHaveBeenCalledTimes(1);
    calls.ask();
    calls.ask();
    jest.advanceTimersByTime(9);
    expect(call).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1);
    expect(call).toHaveBeenCalledTimes(2);
    jest.advanceTimersByTime(50);
    expect(call).toHaveBeenCalledTimes(2);
    calls.ask();
    expect(call).toHaveBeenCalledTimes(3);
  });

  it('with afterThisTurn calls once the turn is over, once for every ask of the turn', () => {
    const call = jest.fn();
    const calls = new SpacedCalls(2, call, { afterThisTurn: true });
    calls.ask();
    calls.ask();
    expect(call).not.toHaveBeenCalled();
    jest.runOnlyPendingTimers(); // the immediate
    expect(call).toHaveBeenCalledTimes(1);
    calls.ask();
    jest.advanceTimersByTime(2);
    expect(call).toHaveBeenCalledTimes(2);
  });

  it('makes no call that was cancelled', () => {
    const call = jest.fn();
    const calls = new SpacedCalls(10, call);
    calls.ask();
    calls.ask();
    calls.cancel();
    jest.advanceTimersByTime(100);
    expect(call).toHaveBeenCalledTimes(1);
    calls.ask();
    expect(call).toHaveBeenCalledTimes(2);
  });
});
