import { openDatabase } from '../../src/db/connect.ts';
import type { GeneratorGateway } from './generator-protocol.ts';

export const E2E_CAMPUS = 'e2e';
const TARIFF = 'e2e-flat';
const ROOMS_PER_BUILDING = 500;

/** The ids of the buildings a campus of `meters` rooms has (buildings of 500 rooms). */
export function buildingIdsFor(meters: number): string[] {
  return Array.from({ length: Math.ceil(meters / ROOMS_PER_BUILDING) }, (_, b) => `B-${pad(b + 1, 2)}`);
}
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Rules that stay out of the way of a steady benign load (as the tests' QUIET_RULES). */
const QUIET_RULES: Readonly<Record<string, unknown>> = {
  lightingSchedule: { nights: Object.fromEntries(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, null])) },
  malignantLoad: { mode: 'off' },
  lowCurrent: { enabled: false },
  acStandby: { enabled: false },
};

export interface RestCampus {
  readonly gateways: readonly GeneratorGateway[];
  /** Rooms kept for latency probes: their meters' gateway and unit. */
  readonly probes: readonly { readonly dormitoryId: string; readonly gatewayId: string; readonly unit: string }[];
  readonly restCalls: number;
  readonly seconds: number;
  /** The rooms alone (dormitories and meters), without the campus, tariff and gateways before them. */
  readonly roomSeconds: number;
}

/**
 * How the rooms are made: `rest` one `POST /api/dormitories` per room with its meter inline (one
 * transaction, one actor start); `rest-per-meter` the dormitory, then `POST
 * /api/dormitories/:id/meters` (which rebuilds the dormitory's actors); `later` not at all (seeded).
 */
export type RoomsOverRest = 'rest' | 'rest-per-meter' | 'later';

export class RestClient {
  calls = 0;
  /** The bearer token of the last login (the live-feed clients use it too). */
  token = '';
  constructor(readonly baseUrl: string) {}

  /**
   * A client of the server restarted at `baseUrl` with the same session: sessions are in the
   * database, so the token stays valid across a restart (a new client without it would send
   * `bearer.` with nothing after it, and every live client would be closed with 4401).
   */
  sameSessionAt(baseUrl: string): RestClient {
    const client = new RestClient(baseUrl);
    client.token = this.token;
    return client;
  }

  async login(username: string, password: string): Promise<void> {
    const body = await this.call<{ token: string }>('POST', '/api/auth/login', { username, password });
    this.token = body.token;
  }

  async call<T = unknown>(method: string, path: string, body?: unknown, ok: readonly number[] = [200, 201, 204]): Promise<T> {
    this.calls++;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!ok.includes(response.status)) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async metrics(): Promise<string> {
    const response = await fetch(`${this.baseUrl}/api/metrics`);
    return response.text();
  }
}

/** Room `i` of the campus: its dormitory, meter, building, floor and place behind a gateway. */
function roomOf(i: number, gateways: readonly GeneratorGateway[], metersPerGateway: number) {
  const inBuilding = i % ROOMS_PER_BUILDING;
  const floor = Math.floor(inBuilding / 50) + 1;
  return {
    dormitoryId: `D-${pad(i + 1, 6)}`,
    meterId: `M-${pad(i + 1, 6)}`,
    building: `B-${pad(Math.floor(i / ROOMS_PER_BUILDING) + 1, 2)}`,
    floor,
    room: `${floor}${pad((inBuilding % 50) + 1, 2)}`,
    gatewayId: gateways[Math.floor(i / metersPerGateway)]!.id,
    unit: String((i % metersPerGateway) + 1),
  };
}

/**
 * The rooms written straight into the server's database (`--rooms seed`, while the server is
 * stopped): the same rows POST /api/dormitories and POST /api/dormitories/:id/meters write
 * (dormitory, both purses' accounts at zero, meter, its three circuits), in multi-row inserts.
 * For the large sizes: over REST each meter reloads its dormitory's actors, tens of calls a second here.
 */
export async function seedRooms(database: { DATABASE_URL?: string; DATA_DIR?: string }, meters: number, gateways: readonly GeneratorGateway[], metersPerGateway: number): Promise<void> {
  const handle = await openDatabase({ databaseUrl: database.DATABASE_URL, dataDir: database.DATA_DIR ?? '' });
  try {
    const rooms = Array.from({ length: meters }, (_, i) => roomOf(i, gateways, metersPerGateway));
    await handle.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rooms.length; i += 2000) {
        const slice = rooms.slice(i, i + 2000);
        await trx.insertInto('dormitories').values(slice.map((r) => ({ id: r.dormitoryId, building_id: r.building, floor: r.floor, room: r.room, electricity_tariff_id: TARIFF }))).execute();
        await trx.insertInto('accounts').values(slice.flatMap((r) => [{ dormitory_id: r.dormitoryId, purse: 'electricity' as const }, { dormitory_id: r.dormitoryId, purse: 'water' as const }])).execute();
        await trx.insertInto('meters').values(slice.map((r) => ({ id: r.meterId, dormitory_id: r.dormitoryId, kind: 'electric' as const, profile: 'campus-1in3out', gateway_id: r.gatewayId, unit_address: r.unit }))).execute();
        await trx.insertInto('circuits').values(slice.flatMap((r) => (['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `${r.meterId}:${kind}`, meter_id: r.meterId, kind })))).execute();
      }
    });
  } finally {
    await handle.close();
  }
}

/** Runs `work` over `items` with `concurrency` requests in flight. */
async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/**
 * The campus, created over the REST API as an operator would: campus (no warning levels;
 * cut below -0.50 yuan, so the steady load never cuts a room during a run but a probe's 1 kWh
 * jump, 0.60 yuan, does), quiet rules, a flat 0.60 yuan/kWh tariff, buildings of 500 rooms,
 * MQTT gateways of `metersPerGateway` meters with issued credentials, one dormitory and one
 * campus 1-in-3-out meter per room.
 */
export async function createCampusOverRest(api: RestClient, meters: number, metersPerGateway: number, probeCount: number, rooms: RoomsOverRest = 'rest'): Promise<RestCampus> {
  const started = performance.now();
  const callsBefore = api.calls;
  await api.call('POST', '/api/campuses', { id: E2E_CAMPUS, name: 'E2E University', timeZone: 'Asia/Shanghai' });
  await api.call('PATCH', `/api/campuses/${E2E_CAMPUS}/settings`, { warningLevels: [], overdraftLimit: 50, restoreThreshold: 100 });
  for (const [rule, config] of Object.entries(QUIET_RULES)) await api.call('PUT', `/api/rules/campus/${E2E_CAMPUS}/${rule}`, { config });
  await api.call('POST', '/api/tariffs', { id: TARIFF, name: 'Flat 0.60', purse: 'electricity', definition: { kind: 'single', rate: 60_000 } });
  const buildings = Math.ceil(meters / ROOMS_PER_BUILDING);
  for (let b = 0; b < buildings; b++) await api.call('POST', '/api/buildings', { id: `B-${pad(b + 1, 2)}`, campusId: E2E_CAMPUS, name: `Building ${b + 1}`, floors: ROOMS_PER_BUILDING / 50 });
  const gatewayCount = Math.ceil(meters / metersPerGateway);
  const gateways: GeneratorGateway[] = [];
  for (let g = 0; g < gatewayCount; g++) {
    const id = `GW-${pad(g + 1, 3)}`;
    await api.call('POST', '/api/gateways', { id, campusId: E2E_CAMPUS, buildingId: `B-${pad(Math.floor((g * metersPerGateway) / ROOMS_PER_BUILDING) + 1, 2)}`, protocol: 'mqtt', address: id });
    const issued = await api.call<{ username: string; secret: string }>('POST', `/api/gateways/${id}/credentials`);
    const units = Array.from({ length: Math.min(metersPerGateway, meters - g * metersPerGateway) }, (_, u) => String(u + 1));
    gateways.push({ id, username: issued.username, password: issued.secret, units });
  }
  const roomsStarted = performance.now();
  if (rooms !== 'later') {
    await pool(
      Array.from({ length: meters }, (_, i) => roomOf(i, gateways, metersPerGateway)),
      16,
      async (room) => {
        const dormitory = { id: room.dormitoryId, building: room.building, floor: room.floor, room: room.room, electricityTariffId: TARIFF };
        const meter = { id: room.meterId, kind: 'electric', profile: 'campus-1in3out', gatewayId: room.gatewayId, unitAddress: room.unit };
        if (rooms === 'rest') {
          await api.call('POST', '/api/dormitories', { ...dormitory, meters: [meter] });
          return;
        }
        await api.call('POST', '/api/dormitories', dormitory);
        await api.call('POST', `/api/dormitories/${room.dormitoryId}/meters`, meter);
      },
    );
  }
  const roomSeconds = Number(((performance.now() - roomsStarted) / 1000).toFixed(1));
  const probes = Array.from({ length: probeCount }, (_, j) => roomOf(Math.floor(((j + 0.5) * meters) / probeCount), gateways, metersPerGateway));
  return { gateways, probes, restCalls: api.calls - callsBefore, seconds: Number(((performance.now() - started) / 1000).toFixed(1)), roomSeconds };
}
