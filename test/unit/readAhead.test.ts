import { describe, expect, it } from 'vitest';
import { readAhead } from '../../shared/datasets/readAhead.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('readAhead', () => {
  it('answers in the items\' order with at most `window` reads in flight, pulling an async source only as needed', async () => {
    let inFlight = 0;
    let most = 0;
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield i;
      }
    }
    const read = async (i: number) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await tick(10 - i); // later items finish first
      inFlight--;
      return i * 10;
    };
    const results: Array<[number, number]> = [];
    for await (const pair of readAhead(source(), 3, read)) {
      results.push(pair);
      expect(pulled).toBeLessThanOrEqual(pair[0] + 4);
    }
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => [i, i * 10]));
    expect(most).toBe(3);
  });

  it('throws a failed read in its turn, after the ones before it, and closes the source', async () => {
    let closed = false;
    function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const [i] of readAhead(source(), 4, async (i) => {
          if (i === 2) throw new Error('boom');
          await tick(5);
          return i;
        })) {
          seen.push(i);
        }
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([0, 1]);
    expect(closed).toBe(true);
  });
});
