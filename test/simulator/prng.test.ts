import t from 'tap';
import { Prng, hash32, hashString, noise01 } from '../../src/simulator/prng.ts';

t.test('a Prng repeats its sequence for the same seed and differs for another', async (t) => {
  const draw = (seed: number) => {
    const prng = new Prng(seed);
    return Array.from({ length: 8 }, () => prng.nextUint32());
  };
  t.same(draw(42), draw(42));
  t.not(draw(42).join(), draw(43).join());
});

t.test('Prng values are in range and roughly uniform', async (t) => {
  const prng = new Prng(7);
  let sum = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const x = prng.next();
    if (x < 0 || x >= 1) t.fail(`out of range: ${x}`);
    sum += x;
  }
  t.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
  const ints = new Set(Array.from({ length: 200 }, () => prng.nextInt(2, 4)));
  t.same([...ints].sort(), [2, 3, 4]);
});

t.test('stateless noise is a pure function of its key', async (t) => {
  t.equal(hash32(1, 2, 3, 4), hash32(1, 2, 3, 4));
  t.not(hash32(1, 2, 3, 4), hash32(1, 2, 3, 5));
  t.not(hash32(1, 2), hash32(2, 1));
  t.equal(noise01(9, 10), noise01(9, 10));
  t.equal(hashString('dorm-101'), hashString('dorm-101'));
  t.not(hashString('dorm-101'), hashString('dorm-102'));
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += noise01(5, i);
  t.ok(Math.abs(sum / 10_000 - 0.5) < 0.02, `mean ${sum / 10_000}`);
});
