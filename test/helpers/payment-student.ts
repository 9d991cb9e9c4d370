import type { Test } from 'tap';
import type { TestApp } from './test-app.ts';

/**
 * A student living in `dormitoryId` (one of its demo occupants leaves first: the demo rooms
 * are full), signed in, and a way to start their online payments and read the purse.
 */
export async function payingStudent(t: Test, test: TestApp, dormitoryId: string, studentId: string) {
  const admin = await test.as('admin');
  const http = test.app.http;
  const leaver = await test.database.db.selectFrom('occupancies').select('student_number').where('dormitory_id', '=', dormitoryId).where('to_day', 'is', null).executeTakeFirstOrThrow();
  t.equal((await http.inject({ method: 'POST', url: `/api/students/${leaver.student_number}/check-out`, headers: admin, payload: {} })).statusCode, 200, `a bed in ${dormitoryId} is freed`);
  t.equal((await http.inject({ method: 'POST', url: '/api/students', headers: admin, payload: { id: studentId, name: 'Li Wei', college: 'Science', class: 'P-1', password: 'student-password-1' } })).statusCode, 201, 'a student is opened');
  t.equal((await http.inject({ method: 'POST', url: `/api/dormitories/${dormitoryId}/check-ins`, headers: admin, payload: { studentId } })).statusCode, 201, `and lives in ${dormitoryId}`);
  const student = await test.login(studentId, 'student-password-1');
  return {
    student,
    /** Starts a payment as the student (through whichever app is running now). */
    async pay(app: TestApp['app'], payload: { amount: number; provider?: string }) {
      const response = await app.http.inject({ method: 'POST', url: '/api/me/payments', headers: student, payload });
      if (response.statusCode !== 201) throw new Error(`payment not started: ${response.statusCode} ${response.body}`);
      return response.json<{ reference: string; payUrl: string; state: string }>();
    },
    async balance(): Promise<number> {
      const row = await test.database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', dormitoryId).where('purse', '=', 'electricity').executeTakeFirstOrThrow();
      return row.balance;
    },
    /** The recharge ledger entries of a reference (a payment credits at most one). */
    async credits(reference: string): Promise<number[]> {
      const rows = await test.database.db.selectFrom('ledger_entries').select('amount').where('reference', '=', reference).where('kind', '=', 'recharge').execute();
      return rows.map((r) => r.amount);
    },
  };
}
