import t from 'tap';
import { appendPostings, type LedgerPosting } from '../../src/db/ledger.repository.ts';
import { createTestApp } from '../helpers/test-app.ts';

type Row = { id: number; kind: string; purse: string; amount: number; usage: number | null; balanceAfter: number; occurredAt: string; fold?: { day: string; entries: number; fromId: number; toId: number } };

/**
 * GET /api/dormitories/:id/ledger?fold=free-usage-by-day: the server folds each campus day's
 * free-quota usage of a purse into one row and pages on rows (keyset, `before`/`next`). Checked
 * against a fold of the plain ledger done here, page size by page size.
 */
t.test('the folded ledger: one row per purse and campus day of free usage, keyset-paged on rows, no day split over pages', async (t) => {
  const { app, database, login, as } = await createTestApp(t);
  const admin = await login('admin', 'test-admin-password');
  const get = async (query: string) => {
    const response = await app.http.inject({ method: 'GET', url: `/api/dormitories/A-103/ledger?${query}`, headers: admin });
    t.equal(response.statusCode, 200, `${query}: ${response.body.slice(0, 200)}`);
    return response.json<{ items: Row[]; next: number | null; total?: number }>();
  };
  // Campus days in Asia/Shanghai (UTC+8): 15:59Z is 23:59 local, 16:00Z the next local day.
  const day0 = Date.parse('2026-11-20T16:00:00Z'); // 2026-11-21 00:00 local
  const at = (hours: number) => new Date(day0 + hours * 3_600_000);
  const free = (purse: 'electricity' | 'water', hours: number, usage: number): LedgerPosting => ({ dormitoryId: 'A-103', purse, kind: 'consumption_charge', amount: 0, usage, occurredAt: at(hours) });
  const plain = (await get('pageSize=500')).items;
  const postings: LedgerPosting[] = [
    free('electricity', -0.5, 10), // 2026-11-20, 23:30 local
    free('electricity', 1, 100),
    free('water', 1.5, 7),
    free('electricity', 2, 200),
    { dormitoryId: 'A-103', purse: 'electricity', kind: 'recharge', amount: 5000, reference: 'fold-1', occurredAt: at(3) },
    free('electricity', 4, 300),
    { dormitoryId: 'A-103', purse: 'electricity', kind: 'consumption_charge', amount: -42, usage: 500, occurredAt: at(5) },
    free('water', 6, 8),
    free('electricity', 24.5, 50), // 2026-11-22
    free('electricity', 25, 60),
  ];
  for (const posting of postings) await appendPostings(database.db, [posting]);
  const all = (await get('pageSize=500')).items;
  t.equal(all.length, plain.length + postings.length, 'the plain ledger has every entry');

  // The oracle: fold the plain ledger by (purse, local day), each row keyed by its latest id.
  const localDay = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 10);
  const groups = new Map<string, Row[]>();
  const expected: { key: number; fold?: { day: string; entries: number; fromId: number; toId: number }; usage: number | null }[] = [];
  for (const entry of all) {
    if (entry.kind === 'consumption_charge' && entry.amount === 0) {
      const key = `${entry.purse}|${localDay(entry.occurredAt)}`;
      groups.set(key, [...(groups.get(key) ?? []), entry]);
    } else expected.push({ key: entry.id, usage: entry.usage });
  }
  for (const entries of groups.values()) {
    const ids = entries.map((e) => e.id);
    expected.push({ key: Math.max(...ids), usage: entries.reduce((s, e) => s + (e.usage ?? 0), 0), fold: { day: localDay(entries[0]!.occurredAt), entries: entries.length, fromId: Math.min(...ids), toId: Math.max(...ids) } });
  }
  expected.sort((a, b) => b.key - a.key);
  t.ok(expected.some((e) => e.fold?.day === '2026-11-21' && e.fold.entries === 3), 'the 21st folds its three electricity readings, a recharge and a charge between them');

  for (const pageSize of [1, 2, 3, 50]) {
    const seen: Row[] = [];
    let before: number | null | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await get(`fold=free-usage-by-day&pageSize=${pageSize}${before ? `&before=${before}` : ''}`);
      t.ok(page.items.length <= pageSize, `a page is at most ${pageSize} rows`);
      t.notOk('total' in page, 'no total: keyset paging');
      seen.push(...page.items);
      before = page.next;
      if (before === null) break;
    }
    t.same(
      seen.map((r) => ({ key: r.id, usage: r.usage, ...(r.fold ? { fold: r.fold } : {}) })),
      expected,
      `pages of ${pageSize}: every row once, in order, each day of free usage whole`,
    );
  }
  const first = (await get('fold=free-usage-by-day&pageSize=50')).items;
  const day21 = first.find((r) => r.fold?.day === '2026-11-21' && r.purse === 'electricity')!;
  t.equal(day21.usage, 600, 'the day’s free units summed (100 + 200 + 300)');
  t.equal(day21.balanceAfter, all.find((e) => e.id === day21.id)!.balanceAfter, 'the balance after its latest entry');
  t.same((await get('fold=free-usage-by-day&purse=water&pageSize=50')).items.map((r) => r.purse), ['water', ...new Array(Math.max(0, first.filter((r) => r.purse === 'water').length - 1)).fill('water')], 'a purse filter keeps to that purse');

  const stray = await app.http.inject({ method: 'GET', url: '/api/dormitories/A-103/ledger?before=5', headers: admin });
  t.equal(stray.json().error.field, 'before', 'before without fold is refused, naming before');
  const student = await app.http.inject({ method: 'GET', url: '/api/dormitories/A-104/ledger?fold=free-usage-by-day', headers: await as('student', 'A-103') });
  t.equal(student.statusCode, 403, 'a student reads only their own room, folded too');
});
