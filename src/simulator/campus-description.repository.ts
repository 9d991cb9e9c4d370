/**
 * Reads what the in-process simulator should simulate from the database: every gateway
 * whose address is `simulator` (SIMULATOR_ADDRESS) with its meters. The only file in this
 * folder that touches the database, and only through the caller's `db | trx`.
 *
 * Registers continue where billing left off: a restarted simulator must never show billing
 * a register lower than the one it last billed (that would read as tampering and bill
 * nothing). The billed register is `billing_cursors.register`, per meter: the incoming line
 * (Wh) of an electricity meter, the volume (L) of a water meter. The campus meter's
 * incoming line is the sum of its three circuit registers, so the cursor is spread over
 * the circuits: each circuit resumes from its last stored interval reading
 * (`interval_readings.register_end`) when those fit under the cursor, and the rest goes on
 * lighting; when they do not fit, everything goes on lighting. Either way the incoming
 * register starts exactly at the cursor.
 *
 * The simulator models one electricity and one water meter per dormitory (one room load drives
 * one electricity meter). The server accepts more (POST /api/dormitories/:id/meters; two meters
 * in one room share the purse's quota), so a further meter of a kind on a simulated gateway is
 * left out, in meter id order, and named in `unsimulated`: it stays offline in the server rather
 * than stopping the start (the simulator refuses a second meter of a kind per dormitory).
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { CIRCUIT_KINDS, type CircuitKind } from '../domain/reading.ts';
import type { MeterProfileName } from '../drivers/gateway-driver.ts';
import type { SimulatedCampusDescription, SimulatedGatewayDescription, SimulatedMeterDescription } from './simulated-campus.ts';

/** Gateway address meaning "the in-process simulator provides this endpoint" (as seeded). */
const SIMULATOR_GATEWAY_ADDRESS = 'simulator';

/** A meter on a simulated gateway that the simulator does not simulate, and why. */
export interface UnsimulatedMeter {
  readonly meterId: string;
  readonly gatewayId: string;
  readonly reason: string;
}

export interface DescribedCampus extends SimulatedCampusDescription {
  readonly unsimulated: readonly UnsimulatedMeter[];
}

export interface DescribeCampusOptions {
  /** The simulator's seed (everything random derives from it). Default: SimulatedCampus's. */
  readonly seed?: number;
}

/** A meter's starting registers, from what billing and the interval readings last stored. */
export interface StoredRegisters {
  /** billing_cursors.register: incoming line Wh, or water volume L. */
  readonly cursor: number | null;
  /** Last interval `register_end` per circuit channel, Wh. */
  readonly circuits: Readonly<Record<CircuitKind, number | null>>;
}

export async function describeCampusFromDatabase(
  db: Kysely<Database>,
  options: DescribeCampusOptions = {},
): Promise<DescribedCampus> {
  const gateways = await db
    .selectFrom('gateways')
    .innerJoin('campuses', 'campuses.id', 'gateways.campus_id')
    .where('gateways.address', '=', SIMULATOR_GATEWAY_ADDRESS)
    .select(['gateways.id', 'gateways.protocol', 'gateways.campus_id', 'campuses.utc_offset_minutes'])
    .orderBy('gateways.id')
    .execute();
  const offsets = new Set(gateways.map((g) => g.utc_offset_minutes));
  if (offsets.size > 1) {
    const campuses = [...new Set(gateways.map((g) => g.campus_id))].join(', ');
    throw new Error(`simulated gateways belong to campuses with different time zones (${campuses}); one simulator runs one time zone`);
  }
  const seed = options.seed === undefined ? {} : { seed: options.seed };
  if (gateways.length === 0) return { gateways: [], unsimulated: [], ...seed };

  const meters = await db
    .selectFrom('meters')
    .where('meters.gateway_id', 'in', gateways.map((g) => g.id))
    .select((eb) => [
      'meters.id',
      'meters.gateway_id',
      'meters.dormitory_id',
      'meters.profile',
      'meters.unit_address',
      eb.selectFrom('billing_cursors').select('billing_cursors.register').whereRef('billing_cursors.meter_id', '=', 'meters.id').as('cursor'),
      lastCircuitRegister(eb, 'lighting').as('lighting_register'),
      lastCircuitRegister(eb, 'socket').as('socket_register'),
      lastCircuitRegister(eb, 'ac').as('ac_register'),
    ])
    .orderBy('meters.id')
    .execute();

  const unsimulated: UnsimulatedMeter[] = [];
  const simulatedKinds = new Map<string, string>();
  const byGateway = new Map<string, SimulatedMeterDescription[]>(gateways.map((g) => [g.id, []]));
  for (const meter of meters) {
    const kind = meter.profile === 'water-valve' ? 'water' : 'electricity';
    const taken = simulatedKinds.get(`${meter.dormitory_id}/${kind}`);
    if (taken !== undefined) {
      unsimulated.push({ meterId: meter.id, gatewayId: meter.gateway_id, reason: `dormitory ${meter.dormitory_id} already has a simulated ${kind} meter (${taken})` });
      continue;
    }
    simulatedKinds.set(`${meter.dormitory_id}/${kind}`, meter.id);
    const stored: StoredRegisters = {
      cursor: meter.cursor,
      circuits: { lighting: meter.lighting_register, socket: meter.socket_register, ac: meter.ac_register },
    };
    const base = { unitAddress: meter.unit_address, profile: meter.profile as MeterProfileName, dormitoryId: meter.dormitory_id };
    byGateway.get(meter.gateway_id)!.push(
      meter.profile === 'water-valve'
        ? { ...base, initialVolumeL: stored.cursor ?? 0 }
        : { ...base, initialEnergyWh: initialEnergyWh(meter.profile, stored) },
    );
  }
  const described: SimulatedGatewayDescription[] = gateways.map((g) => ({
    gatewayId: g.id,
    protocol: g.protocol,
    meters: byGateway.get(g.id)!.sort((a, b) => a.unitAddress.localeCompare(b.unitAddress, 'en', { numeric: true })),
  }));
  return { gateways: described, unsimulated, utcOffsetMinutes: gateways[0]!.utc_offset_minutes, ...seed };
}

/**
 * Where a restarted simulated clock should start: `nowMs`, or later if billing has already
 * read a simulated meter at a later (simulated) time, e.g. after a run at 3600x. Starting
 * earlier would hand billing readings older than its cursors.
 */
export async function simulatedClockStartMs(db: Kysely<Database>, nowMs: number): Promise<number> {
  const row = await db
    .selectFrom('billing_cursors')
    .innerJoin('meters', 'meters.id', 'billing_cursors.meter_id')
    .innerJoin('gateways', 'gateways.id', 'meters.gateway_id')
    .where('gateways.address', '=', SIMULATOR_GATEWAY_ADDRESS)
    .select((eb) => eb.fn.max('billing_cursors.read_at').as('latest'))
    .executeTakeFirst();
  const latest = row?.latest ? new Date(row.latest).getTime() : Number.NEGATIVE_INFINITY;
  return Math.max(nowMs, latest);
}

/**
 * Starting registers of an electricity meter, Wh. Campus meter: per circuit, summing to the
 * cursor exactly (see the file comment); single-line meters: `main` = the cursor.
 */
export function initialEnergyWh(profile: string, stored: StoredRegisters): Partial<Record<CircuitKind | 'main', number>> {
  if (profile !== 'campus-1in3out') return { main: stored.cursor ?? 0 };
  const circuits = CIRCUIT_KINDS.map((kind) => stored.circuits[kind] ?? 0);
  const circuitSum = circuits.reduce((sum, value) => sum + value, 0);
  const incoming = stored.cursor ?? circuitSum;
  if (circuitSum > incoming || circuits.some((value) => value < 0)) return { lighting: incoming, socket: 0, ac: 0 };
  const [lighting, socket, ac] = circuits as [number, number, number];
  return { lighting: lighting + (incoming - circuitSum), socket, ac };
}

/** The newest interval reading's end register of one circuit of the outer query's meter. */
function lastCircuitRegister(eb: ExpressionBuilder<Database, 'meters'>, channel: CircuitKind) {
  return eb
    .selectFrom('interval_readings')
    .select('interval_readings.register_end')
    .whereRef('interval_readings.meter_id', '=', 'meters.id')
    .where('interval_readings.channel', '=', channel)
    .orderBy('interval_readings.interval_start', 'desc')
    .limit(1);
}
