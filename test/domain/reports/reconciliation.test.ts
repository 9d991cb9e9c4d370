import t from 'tap';
import { channelOf } from '../../../src/domain/reports/ledger-kinds.ts';
import { reconcileDay, totalOf } from '../../../src/domain/reports/reconciliation.ts';

const g = { campus: 'c', building: 'B1', purse: 'electricity' as const };

t.test('every kind lands in one column with the sign of the report', async (t) => {
  const [line] = reconcileDay(
    [{ ...g, amount: 1_000 }],
    [
      { ...g, kind: 'recharge', amount: 500 },
      { ...g, kind: 'consumption_charge', amount: -120 },
      { ...g, kind: 'quota_grant', amount: 0 },
      { ...g, kind: 'refund', amount: -200 },
      { ...g, kind: 'adjustment', amount: -30 },
      { ...g, kind: 'settlement', amount: 40 },
    ],
    [{ ...g, amount: 1_190 }],
  );
  t.match(line, { opening: 1_000, recharges: 500, charges: 120, refunds: 200, adjustments: -30, settlements: 40, closing: 1_190, ledgerClosing: 1_190, tiesOut: true }, 'the equation holds and ties out');
});

t.test('a ledger closing the movements do not explain does not tie out', async (t) => {
  const [line] = reconcileDay([{ ...g, amount: 100 }], [{ ...g, kind: 'recharge', amount: 50 }], [{ ...g, amount: 151 }]);
  t.equal(line!.closing, 150, 'closing from the equation');
  t.equal(line!.tiesOut, false, 'one fen off is not tied out');
  t.equal(totalOf([line!]).tiesOut, false, 'nor is the total');
});

t.test('lines are per building and purse, sorted, and a quiet account still shows its balance', async (t) => {
  const lines = reconcileDay(
    [
      { campus: 'c', building: 'B2', purse: 'water', amount: 7 },
      { ...g, amount: 3 },
    ],
    [],
    [
      { campus: 'c', building: 'B2', purse: 'water', amount: 7 },
      { ...g, amount: 3 },
    ],
  );
  t.same(lines.map((l) => [l.building, l.purse, l.opening, l.closing, l.tiesOut]), [['B1', 'electricity', 3, 3, true], ['B2', 'water', 7, 7, true]], 'opening = closing without movements');
});

t.test('channels: a provider makes an online channel of its own', async (t) => {
  t.equal(channelOf('cash', null), 'cash', 'the cash desk');
  t.equal(channelOf('online', 'sandbox'), 'online:sandbox', 'a provider');
  t.equal(channelOf(null, null), 'unknown', 'a recharge without a method');
});
