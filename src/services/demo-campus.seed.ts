import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { appendPostings, type LedgerPosting } from '../db/ledger.repository.ts';
import { localDayOf } from '../domain/settlement/local-day.ts';

/**
 * The demo campus `npm start` seeds into an empty database: 2 buildings x 5 floors x 20
 * rooms, 4 occupants a room, a 1-in-3-out meter and a water meter per room, one gateway per
 * floor (building A over Modbus TCP, building B over MQTT), a time-of-use electricity tariff,
 * a single-rate water tariff, a monthly free quota, and starting balances posted through the
 * ledger (so `reconcile` holds from the first second).
 */
export interface DemoCampusShape {
  readonly buildings: number;
  readonly floors: number;
  readonly roomsPerFloor: number;
  readonly occupantsPerRoom: number;
}

export const DEMO_CAMPUS_SHAPE: DemoCampusShape = { buildings: 2, floors: 5, roomsPerFloor: 20, occupantsPerRoom: 4 };

/** Gateway address meaning "the in-process simulator provides this endpoint". */
export const SIMULATOR_ADDRESS = 'simulator';

const COLLEGES = ['Engineering', 'Science', 'Humanities', 'Economics', 'Medicine'];
const GIVEN = ['Wei', 'Fang', 'Lei', 'Min', 'Jing', 'Hao', 'Yan', 'Tao', 'Xin', 'Lin', 'Qiang', 'Hui'];
const FAMILY = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Zhao', 'Huang', 'Zhou', 'Wu'];

export async function isDatabaseEmpty(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('campuses').select('id').limit(1).executeTakeFirst();
  return row === undefined;
}

export async function seedDemoCampus(db: Kysely<Database>, now: Date, shape: DemoCampusShape = DEMO_CAMPUS_SHAPE): Promise<{ dormitories: number }> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('campuses')
      .values({
        id: 'demo',
        name: 'Demo University',
        utc_offset_minutes: 480,
        settings: JSON.stringify({
          arrears: { warningLevels: [2000, 500], overdraftLimit: 0, restoreThreshold: 100, waterArrearsCutsElectricity: true },
        }),
      })
      .execute();
    await trx
      .insertInto('tariffs')
      .values([
        {
          id: 'tou-residential',
          name: 'Residential time-of-use',
          purse: 'electricity',
          definition: JSON.stringify({
            kind: 'time_of_use',
            periods: [
              { name: 'peak', from: '08:00', to: '22:00', rate: 60000 },
              { name: 'valley', from: '22:00', to: '08:00', rate: 30000 },
            ],
          }),
        },
        { id: 'water-flat', name: 'Water flat rate', purse: 'water', definition: JSON.stringify({ kind: 'single', rate: 350000 }) },
      ])
      .execute();
    await trx.insertInto('free_quota_policies').values({ id: 'student-10kwh', name: '10 kWh free a month', purse: 'electricity', allowance: 10_000 }).execute();

    const buildings = [];
    const gateways = [];
    const dormitories = [];
    const occupants = [];
    const meters = [];
    const circuits = [];
    const accounts = [];
    const postings: LedgerPosting[] = [];
    let studentSeq = 0;
    for (let b = 0; b < shape.buildings; b++) {
      const letter = String.fromCharCode(65 + b);
      const buildingId = `B${letter}`;
      buildings.push({ id: buildingId, campus_id: 'demo', name: `Building ${letter}`, floors: shape.floors });
      for (let floor = 1; floor <= shape.floors; floor++) {
        const gatewayId = `GW-${letter}${floor}`;
        gateways.push({
          id: gatewayId,
          campus_id: 'demo',
          building_id: buildingId,
          protocol: (b % 2 === 0 ? 'modbus-tcp' : 'mqtt') as 'modbus-tcp' | 'mqtt',
          address: SIMULATOR_ADDRESS,
        });
        for (let r = 1; r <= shape.roomsPerFloor; r++) {
          const room = `${floor}${String(r).padStart(2, '0')}`;
          const dormitoryId = `${letter}-${room}`;
          dormitories.push({
            id: dormitoryId,
            building_id: buildingId,
            floor,
            room,
            capacity: shape.occupantsPerRoom,
            tags: JSON.stringify(r % 10 === 0 ? ['graduate'] : []),
            electricity_tariff_id: 'tou-residential',
            water_tariff_id: 'water-flat',
            electricity_quota_id: 'student-10kwh',
            holiday_off: r % 5 === 0,
          });
          for (let bed = 1; bed <= shape.occupantsPerRoom; bed++) {
            studentSeq++;
            occupants.push({
              student_number: `2026${String(studentSeq).padStart(5, '0')}`,
              name: `${FAMILY[studentSeq % FAMILY.length]} ${GIVEN[(studentSeq * 7) % GIVEN.length]}`,
              college: COLLEGES[(b * shape.floors + floor) % COLLEGES.length]!,
              class_name: `C${(floor % 4) + 1}-${(r % 3) + 1}`,
              phone: `139${String(10_000_000 + studentSeq).slice(-8)}`,
              dormitory_id: dormitoryId,
              bed,
              checked_in_at: now,
            });
          }
          const electricMeterId = `M-${dormitoryId}`;
          const waterMeterId = `W-${dormitoryId}`;
          meters.push(
            { id: electricMeterId, dormitory_id: dormitoryId, kind: 'electric' as const, profile: 'campus-1in3out', gateway_id: gatewayId, unit_address: String(r) },
            { id: waterMeterId, dormitory_id: dormitoryId, kind: 'water' as const, profile: 'water-valve', gateway_id: gatewayId, unit_address: String(100 + r) },
          );
          for (const kind of ['lighting', 'socket', 'ac'] as const) circuits.push({ id: `${electricMeterId}:${kind}`, meter_id: electricMeterId, kind });
          accounts.push({ dormitory_id: dormitoryId, purse: 'electricity' as const }, { dormitory_id: dormitoryId, purse: 'water' as const });
          // A few rooms start nearly empty so the demo shows warnings and cut-offs.
          const electricity = r % 17 === 0 ? 150 : 5000 + ((r * 37) % 5) * 1000;
          postings.push(
            { dormitoryId, purse: 'electricity', kind: 'adjustment', amount: electricity, operator: 'seed', occurredAt: now, details: { note: 'opening balance' } },
            { dormitoryId, purse: 'water', kind: 'adjustment', amount: 2000, operator: 'seed', occurredAt: now, details: { note: 'opening balance' } },
          );
        }
      }
    }
    await trx.insertInto('buildings').values(buildings).execute();
    await trx.insertInto('gateways').values(gateways).execute();
    await trx.insertInto('dormitories').values(dormitories).execute();
    for (let i = 0; i < occupants.length; i += 500) await trx.insertInto('occupants').values(occupants.slice(i, i + 500)).execute();
    // Their stays begin today (the occupancy history settlement reads).
    const fromDay = localDayOf(now.getTime(), 480);
    const stays = occupants.map((o) => ({ student_number: o.student_number, dormitory_id: o.dormitory_id, bed: o.bed, from_day: fromDay, checked_in_at: now, checked_in_by: 'seed' }));
    for (let i = 0; i < stays.length; i += 500) await trx.insertInto('occupancies').values(stays.slice(i, i + 500)).execute();
    await trx.insertInto('meters').values(meters).execute();
    await trx.insertInto('circuits').values(circuits).execute();
    await trx.insertInto('accounts').values(accounts).execute();
    await appendPostings(trx, postings);
    return { dormitories: dormitories.length };
  });
}
