import { describe, expect, it } from 'vitest';
import { resolveStart } from '../../src/pipeline/start-offsets.ts';

describe('resolveStart', () => {
  const s = {
    recorded: new Map([['t:0', 40n]]),
    group: new Map([
      ['t:0', 99n],
      ['t:1', 7n],
    ]),
    reset: new Map([
      ['t:0', 1n],
      ['t:1', 1n],
      ['t:2', 3n],
    ]),
    policy: 'earliest' as const,
  };
  it('prefers the table, then the group, then the reset policy', () => {
    expect(resolveStart('t:0', s)).toEqual({ offset: 40n, from: 'table' });
    expect(resolveStart('t:1', s)).toEqual({ offset: 7n, from: 'group' });
    expect(resolveStart('t:2', s)).toEqual({ offset: 3n, from: 'earliest' });
    expect(resolveStart('t:3', { ...s, policy: 'latest' })).toEqual({ offset: 0n, from: 'latest' });
  });
});
