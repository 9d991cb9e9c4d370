import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import type { ElectricReading } from '../../src/domain/reading.ts';
import { campus1in3outProfile } from '../../src/drivers/profiles/campus-1in3out.profile.ts';
import { ModbusGatewayServer } from '../../src/simulator/modbus-gateway-server.ts';
import { FakeGateway, FakeMeter, campusReading, sdm120Reading } from './fake-simulated-gateway.ts';

/**
 * docs/register-map.md is the contract for outside tools: this reads the simulator with the
 * Debian `mbpoll` exactly as the page says (its campus table row by row, and its examples).
 */
const MBPOLL = '/usr/bin/mbpoll';
const DOC = new URL('../../docs/register-map.md', import.meta.url);
const run = promisify(execFile);

interface DocRow {
  address: number;
  name: string;
  type: string;
  unit: string;
  scale: number;
  access: string;
}

function campusSection(doc: string): string {
  const start = doc.indexOf('## campus-1in3out');
  return doc.slice(start, doc.indexOf('\n## ', start + 1));
}

function tableRows(section: string): DocRow[] {
  return section
    .split('\n')
    .filter((line) => /^\| 0x[0-9A-F]{4} \|/.test(line))
    .map((line) => {
      const [address, name, type, unit, scale, access] = line.split('|').slice(1, 7).map((cell) => cell.trim()) as string[];
      return { address: Number(address), name: name!, type: type!, unit: unit!, scale: Number(scale), access: access! };
    });
}

/** The command lines of the page's ```sh blocks that start with mbpoll. */
function examples(section: string): string[] {
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n').filter((l) => l.startsWith('mbpoll ')));
}

/** Runs a documented example against the simulator: same flags, our host and port. */
async function mbpoll(commandLine: string, port: number): Promise<Map<number, number>> {
  const args = commandLine
    .split(/\s+/)
    .slice(1)
    .map((arg, i, all) => (all[i - 1] === '-p' ? String(port) : arg === '192.0.2.10' ? '127.0.0.1' : arg));
  const { stdout } = await run(MBPOLL, args, { timeout: 10_000 });
  const values = new Map<number, number>();
  for (const m of stdout.matchAll(/^\[(\d+)\]:\s+(-?[\d.]+)(?: \((-?\d+)\))?/gm)) {
    values.set(Number(m[1]), Number(m[3] ?? m[2]));
  }
  return values;
}

function expected(name: string, r: ElectricReading): number {
  const [scope, field] = name.split('.') as [string, string];
  const circuit = r.circuits.find((c) => c.kind === scope);
  const src = circuit ?? r;
  switch (field) {
    case 'energy':
      return src.energyWh;
    case 'voltage':
      return src.voltageV;
    case 'current':
      return src.currentA;
    case 'power':
      return src.powerW;
    case 'pf':
      return src.powerFactor;
    case 'relay_state':
    case 'relay_control':
      return circuit?.relayClosed ? 1 : 0;
    case 'flags':
      return (r.flags.coverOpen ? 1 : 0) | (r.flags.reverseConnection ? 2 : 0);
    case 'alarm':
      return r.alarmWord;
    default:
      throw new Error(`no expectation for ${name}`);
  }
}

if (!existsSync(MBPOLL)) {
  t.plan(0, `${MBPOLL} is absent: install the Debian package (apt-get install -y mbpoll) to run this test`);
} else {
  const reading = campusReading('1', {
    energyWh: 3_000_000_000, // above 2^31: mbpoll shows it signed
    powerW: -1049,
    powerFactor: -0.876,
    flags: { coverOpen: true, reverseConnection: true },
    alarmWord: 0x0011,
  });
  const campus = new FakeMeter('1', 'campus-1in3out', {
    ...reading,
    circuits: reading.circuits.map((c) => (c.kind === 'ac' ? { ...c, relayClosed: false } : c)),
  });
  const gateway = new FakeGateway('gw-mbpoll', [campus, new FakeMeter('2', 'sdm120', sdm120Reading('2'))]);
  const server = new ModbusGatewayServer({ gateway });
  const section = campusSection(readFileSync(DOC, 'utf8'));
  const rows = tableRows(section);

  t.before(() => server.start());
  t.teardown(() => server.stop());

  t.test('the documented campus table is the profile', async (t) => {
    const fromCode = campus1in3outProfile.registers.map((r) => ({
      address: r.address,
      name: r.name,
      type: r.type,
      unit: r.unit,
      scale: r.decimals === 0 ? 1 : 10 ** -r.decimals,
      access: r.access,
    }));
    t.equal(rows.length, fromCode.length);
    for (const [i, row] of rows.entries()) {
      t.equal(row.name, fromCode[i]!.name);
      t.equal(row.address, fromCode[i]!.address, `${row.name} address`);
      t.equal(row.type, fromCode[i]!.type, `${row.name} type`);
      t.equal(row.unit, fromCode[i]!.unit, `${row.name} unit`);
      t.ok(Math.abs(row.scale - fromCode[i]!.scale) < 1e-12, `${row.name} scale`);
      t.equal(row.access, fromCode[i]!.access, `${row.name} access`);
    }
  });

  t.test('mbpoll reads every documented register as the page says', async (t) => {
    const r = campus.read() as ElectricReading;
    for (const row of rows) {
      const type = row.type === 'u32' ? '4:int -B' : '4';
      const values = await mbpoll(`mbpoll -m tcp -p 502 -a 1 -t ${type} -0 -r ${row.address} -c 1 -1 192.0.2.10`, server.port);
      let raw = values.get(row.address);
      if (raw === undefined) {
        t.fail(`${row.name}: no value in mbpoll output`);
        continue;
      }
      if (row.type === 'u32' && raw < 0) raw += 2 ** 32; // mbpoll prints 32-bit ints signed
      if (row.type === 'u16' && raw < 0) raw += 2 ** 16; // bracketed value is the signed view
      const physical = raw * row.scale;
      t.ok(Math.abs(physical - expected(row.name, r)) < 1e-9, `${row.name} = ${Number(physical.toFixed(6))} ${row.unit}`);
    }
  });

  t.test('the page\'s examples run as written', async (t) => {
    const commands = examples(section);
    const block = commands.find((c) => c.includes('-c 56'));
    t.ok(block, 'a whole-block example exists');
    const all = await mbpoll(block!, server.port);
    const words = campus1in3outProfile.encode(campus.read());
    t.equal(all.size, 56);
    t.strictSame(
      [...all.values()].map((v) => (v < 0 ? v + 0x10000 : v)),
      words,
      'all 56 registers equal the profile encoding',
    );

    const energy = await mbpoll(commands.find((c) => c.includes('4:int'))!, server.port);
    t.equal((energy.get(0)! + 2 ** 32) % 2 ** 32, 3_000_000_000, 'u32 energy, big-endian words');

    const write = commands.find((c) => / 0$/.test(c))!;
    await mbpoll(write, server.port);
    t.strictSame(campus.supplyCalls, [{ target: 'socket', closed: false }], 'the write cut the socket circuit');
    const state = await mbpoll(commands.find((c) => c.includes('-r 0x26'))!, server.port);
    t.strictSame([state.get(0x26), state.get(0x27)], [0, 0], 'state and control read back 0');
  });

  t.test('the SDM120 example reads 230 V', async (t) => {
    const sdmSection = readFileSync(DOC, 'utf8').split('## sdm120')[1]!.split('\n## ')[0]!;
    const values = await mbpoll(examples(sdmSection)[0]!, server.port);
    t.equal(values.get(0), 230);
  });
}
