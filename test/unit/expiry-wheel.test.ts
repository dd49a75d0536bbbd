import { ExpiryWheel } from '../../src/auth/expiry-wheel';

describe('expiry wheel', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.setSystemTime(1_000_000);
  });
  afterEach(() => jest.useRealTimers());

  it('ends each item when its exp second arrives, never before, with one timer for all of them', () => {
    const ended: number[] = [];
    const wheel = new ExpiryWheel<number>((n) => ended.push(n));
    // JWT exp is whole seconds: an item due at 1 002 000 ms belongs to second 1002.
    for (let i = 0; i < 1000; i++) wheel.add(1_002_000 + (i % 3) * 1000, i);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1999);
    expect(ended).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(ended).toHaveLength(334);
    jest.advanceTimersByTime(2000);
    expect(ended).toHaveLength(1000);
    expect(jest.getTimerCount()).toBe(0);
    expect(wheel.size).toBe(0);
  });

  it('forgets removed items, re-arms for an earlier one, and ignores tokens without exp', () => {
    const ended: string[] = [];
    const wheel = new ExpiryWheel<string>((s) => ended.push(s));
    const removeLate = wheel.add(1_010_000, 'late');
    wheel.add(1_003_000, 'early');
    wheel.add(Infinity, 'never');
    removeLate();
    jest.advanceTimersByTime(3000);
    expect(ended).toEqual(['early']);
    jest.advanceTimersByTime(60_000);
    expect(ended).toEqual(['early']);
  });
});
