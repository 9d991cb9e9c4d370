import fc from 'fast-check';
import t from 'tap';
import { shareAt, splitExactly } from '../../../src/domain/settlement/split.ts';

t.test('splits: quotient or quotient + 1, the odd fen rotating with the day', async (t) => {
  const rows: ReadonlyArray<[string, number, number, number, number[]]> = [
    ['even split', 900, 3, 0, [300, 300, 300]],
    ['one odd fen goes to position rotation % n', 100, 3, 0, [34, 33, 33]],
    ['rotation 1 moves it to the second', 100, 3, 1, [33, 34, 33]],
    ['rotation 5 = 5 mod 3 = 2', 100, 3, 5, [33, 33, 34]],
    ['two odd fen: positions rotation and rotation + 1', 101, 3, 2, [34, 33, 34]],
    ['a charge splits the same way, negative', -100, 3, 0, [-34, -33, -33]],
    ['fewer fen than people', 2, 4, 3, [1, 0, 0, 1]],
    ['zero gives zeros (never -0)', 0, 3, 7, [0, 0, 0]],
    ['-1 among 4', -1, 4, 1, [0, -1, 0, 0]],
    ['one person takes all', -12345, 1, 99, [-12345]],
  ];
  for (const [name, amount, count, rotation, expected] of rows) {
    const shares = splitExactly(amount, count, rotation);
    t.same(shares, expected, name);
    t.ok(shares.every((s) => !Object.is(s, -0)), `${name}: no negative zero`);
  }
  t.throws(() => shareAt(1.5, 2, 0, 0), RangeError, 'fractional fen are refused');
  t.throws(() => shareAt(10, 0, 0, 0), RangeError, 'nobody to split among is refused');
  t.throws(() => shareAt(10, 2, 2, 0), RangeError, 'a position outside the group is refused');
});

t.test('property: shares add up to the amount and differ by at most one fen', async () => {
  fc.assert(
    fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 100_000 }), (amount, count, rotation) => {
      const shares = splitExactly(amount, count, rotation);
      const sum = shares.reduce((a, b) => a + b, 0);
      const spread = Math.max(...shares) - Math.min(...shares);
      return sum === amount && spread <= 1;
    }),
  );
});

t.test('property: over `count` consecutive days every position pays the same remainder', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 2, max: 8 }), fc.integer({ min: 0, max: 20_000 }), (amount, count, start) => {
      const totals = Array.from({ length: count }, () => 0);
      for (let day = start; day < start + count; day++) splitExactly(amount, count, day).forEach((s, i) => (totals[i]! += s));
      return Math.max(...totals) === Math.min(...totals);
    }),
  );
});
