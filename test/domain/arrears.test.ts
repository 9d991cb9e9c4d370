/**
 * Hand-worked table for the arrears rules (src/domain/arrears.ts): warning levels, overdraft,
 * cut and the restore threshold that keeps a cut purse from flapping around the limit.
 */
import t from 'tap';
import { assessPurse, DEFAULT_ARREARS_POLICY, parseArrearsPolicy, type ArrearsPolicy } from '../../src/domain/arrears.ts';

const policy: ArrearsPolicy = { warningLevels: [2000, 500], overdraftLimit: 300, restoreThreshold: 100 };

t.test('assessPurse: one row per boundary (balance in fen)', async (t) => {
  const rows: Array<[balance: number, currentlyCut: boolean, standing: string, warningLevel: number]> = [
    [5000, false, 'normal', 0],
    [2000, false, 'normal', 0], // a level is crossed strictly below it
    [1999, false, 'low_balance', 1],
    [500, false, 'low_balance', 1],
    [499, false, 'low_balance', 2],
    [0, false, 'low_balance', 2],
    [-1, false, 'overdraft', 2],
    [-300, false, 'overdraft', 2], // at the overdraft limit: still supplied
    [-301, false, 'cut', 2],
    // once cut, it stays cut until the balance reaches the restore threshold
    [-301, true, 'cut', 2],
    [-3, true, 'cut', 2],
    [47, true, 'cut', 2], // the case: cut at -3, recharged to 47 fen, threshold 100
    [99, true, 'cut', 2],
    [100, true, 'low_balance', 2],
    [2500, true, 'normal', 0],
  ];
  for (const [balance, cut, standing, warningLevel] of rows) {
    t.same(assessPurse(policy, balance, cut), { standing, warningLevel }, `balance ${balance}, ${cut ? 'cut' : 'supplied'}`);
  }
});

t.test('a negative restore threshold still needs a non-negative balance to restore', async (t) => {
  const lenient: ArrearsPolicy = { warningLevels: [], overdraftLimit: 500, restoreThreshold: -200 };
  t.equal(assessPurse(lenient, -100, true).standing, 'cut', 'cut stays cut below 0');
  t.equal(assessPurse(lenient, -100, false).standing, 'overdraft', 'a supplied purse at -100 is in overdraft');
  t.equal(assessPurse(lenient, 0, true).standing, 'normal');
});

t.test('no overdraft allowed: cut below zero, restore at the threshold', async (t) => {
  t.same(assessPurse(DEFAULT_ARREARS_POLICY, 0, false), { standing: 'low_balance', warningLevel: 2 });
  t.same(assessPurse(DEFAULT_ARREARS_POLICY, -1, false), { standing: 'cut', warningLevel: 2 });
  t.same(assessPurse(DEFAULT_ARREARS_POLICY, 0, true), { standing: 'cut', warningLevel: 2 });
  t.same(assessPurse(DEFAULT_ARREARS_POLICY, 100, true), { standing: 'low_balance', warningLevel: 2 });
});

t.test('parseArrearsPolicy keeps what is valid and defaults the rest', async (t) => {
  t.same(parseArrearsPolicy(null), DEFAULT_ARREARS_POLICY);
  t.same(parseArrearsPolicy('x'), DEFAULT_ARREARS_POLICY);
  t.same(parseArrearsPolicy({ warningLevels: [500, 'x', 2000, 1.5], overdraftLimit: 300, restoreThreshold: 50 }), {
    warningLevels: [2000, 500],
    overdraftLimit: 300,
    restoreThreshold: 50,
  }, 'levels filtered to integers and sorted descending');
  t.same(parseArrearsPolicy({ overdraftLimit: -5, restoreThreshold: 2.5 }), DEFAULT_ARREARS_POLICY, 'a negative overdraft and a fractional threshold are refused');
  const parsed = parseArrearsPolicy({ warningLevels: [100] });
  t.ok(Object.isFrozen(parsed) && Object.isFrozen(parsed.warningLevels), 'the result is immutable');
});
