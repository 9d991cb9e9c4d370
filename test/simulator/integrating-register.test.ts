import t from 'tap';
import { IntegratingRegister } from '../../src/simulator/integrating-register.ts';

const MW_MS_PER_WH = 3_600_000_000;

t.test('1800 W for one hour is 1800 Wh exactly', async (t) => {
  const register = new IntegratingRegister(MW_MS_PER_WH);
  register.add(1_800_000, 3_600_000);
  t.equal(register.value, 1800);
});

t.test('fractions carry forward: nothing is lost however the interval is split', async (t) => {
  const whole = new IntegratingRegister(MW_MS_PER_WH, 100);
  const pieces = new IntegratingRegister(MW_MS_PER_WH, 100);
  // 7.3 W for 10 hours = 73 Wh, fed as 10 h at once versus 36,000 one-second pieces.
  whole.add(7_300, 36_000_000);
  for (let i = 0; i < 36_000; i++) pieces.add(7_300, 1_000);
  t.equal(whole.value, 173);
  t.equal(pieces.value, 173);
});

t.test('a register below one unit stays at its floor until the unit completes', async (t) => {
  const register = new IntegratingRegister(MW_MS_PER_WH);
  register.add(1_000, 3_599_999); // 1 W for just under an hour
  t.equal(register.value, 0);
  register.add(1_000, 1);
  t.equal(register.value, 1);
});

t.test('rejects what cannot be integrated exactly', async (t) => {
  const register = new IntegratingRegister(MW_MS_PER_WH);
  t.throws(() => register.add(-5, 1000), RangeError);
  t.throws(() => register.add(1e12, 1e12), RangeError);
  t.throws(() => new IntegratingRegister(MW_MS_PER_WH, -1), RangeError);
  t.throws(() => new IntegratingRegister(MW_MS_PER_WH, 1.5), RangeError);
});
