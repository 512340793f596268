import { describe, expect, it } from 'vitest';
import { diffAssignments, flattenAssignment, groupByTopic } from '../../src/source/assignment.ts';

const tp = (topic: string, partition: number) => ({ topic, partition });

describe('assignment bookkeeping', () => {
  it('flattens and sorts a kafkajs member assignment', () => {
    expect(flattenAssignment({ b: [2, 0], a: [10, 9, 1] })).toEqual([
      tp('a', 1),
      tp('a', 9),
      tp('a', 10),
      tp('b', 0),
      tp('b', 2),
    ]);
    expect(flattenAssignment({})).toEqual([]);
  });

  it('revokes previous − next and adds next − previous', () => {
    const prev = [tp('a', 0), tp('a', 1), tp('b', 0)];
    const next = [tp('a', 1), tp('b', 0), tp('b', 1)];
    expect(diffAssignments(prev, next, false)).toEqual({
      revoked: [tp('a', 0)],
      added: [tp('b', 1)],
    });
  });

  it('revokes everything when the member lost its identity', () => {
    const prev = [tp('a', 0), tp('a', 1)];
    const next = [tp('a', 1)];
    expect(diffAssignments(prev, next, true)).toEqual({ revoked: prev, added: next });
  });

  it('does not confuse topic "a:1" partition 0 with topic "a" partition 10', () => {
    expect(diffAssignments([tp('a', 10)], [tp('a:1', 0)], false).revoked).toEqual([tp('a', 10)]);
  });

  it('groups partitions by topic for pause and resume', () => {
    expect(groupByTopic([tp('a', 0), tp('b', 3), tp('a', 2)])).toEqual([
      { topic: 'a', partitions: [0, 2] },
      { topic: 'b', partitions: [3] },
    ]);
  });
});
