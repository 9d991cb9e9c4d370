import { cpus, loadavg, totalmem } from 'node:os';
import type { Config } from '../src/config.ts';
import type { CampusScenarioFigures } from './scenarios/campus-scenario.ts';
import type { ProtocolPathFigures } from './scenarios/protocol-path.ts';
import type { Distribution } from './stats.ts';

/** A campus size whose scenario stopped with an error (the rest of the run goes on). */
export interface FailedScenario {
  readonly dormitories: number;
  readonly error: string;
  /** The figures measured before it stopped. */
  readonly measured: Partial<CampusScenarioFigures>;
}

/** bench-results/latest.json */
export interface BenchReport {
  readonly timestamp: string;
  readonly durationSeconds: number;
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpuModel: string;
    readonly cores: number;
    readonly memoryGb: number;
    /** 1-minute load average when the bench started and ended: other work on the machine skews every figure. */
    readonly loadAverageAtStart: number;
    readonly loadAverageAtEnd: number;
  };
  readonly database: { readonly kind: 'postgresql' | 'pglite'; readonly description: string };
  /** The app settings the actor tree ran with (from the environment, as `serve` reads them). */
  readonly settings: { readonly ledgerFlushMs: number; readonly ledgerBatchSize: number; readonly billingPostIntervalMs: number };
  readonly campuses: readonly (CampusScenarioFigures | FailedScenario)[];
  readonly protocolPath: ProtocolPathFigures | { readonly error: string };
}

export const loadAverage = (): number => Math.round(loadavg()[0]! * 100) / 100;

export function reportHeader(config: Config): Omit<BenchReport, 'durationSeconds' | 'campuses' | 'protocolPath'> {
  const cpu = cpus();
  const load = loadAverage();
  return {
    timestamp: new Date().toISOString(),
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      cores: cpu.length,
      memoryGb: Math.round(totalmem() / 1024 ** 3),
      loadAverageAtStart: load,
      loadAverageAtEnd: load,
    },
    database: config.databaseUrl
      ? { kind: 'postgresql', description: 'PostgreSQL at DATABASE_URL, a fresh schema per scenario, pool of 10' }
      : { kind: 'pglite', description: 'PGlite on disk in a fresh temporary directory per scenario (main thread, one connection)' },
    settings: { ledgerFlushMs: config.ledgerFlushMs, ledgerBatchSize: config.ledgerBatchSize, billingPostIntervalMs: config.billingPostIntervalMs },
  };
}

const fmt = (x: number | null): string => (x === null ? '-' : x.toLocaleString('en-US'));

/** The short table `npm run bench` prints: one column per campus size. */
export function summaryTable(report: BenchReport): string {
  const lat = (d: Distribution) => `${fmt(d.p50)} / ${fmt(d.p99)} / ${fmt(d.max)}`;
  // A failed scenario shows what it measured before it stopped; '-' for the rest.
  const rows: [string, (c: CampusScenarioFigures) => string][] = [
    ['seed (rows/s)', (c) => fmt(c.seed.rowsPerSecond)],
    ['boot (s)', (c) => fmt(c.bootSeconds)],
    ['heap per dormitory, booted / after load (B)', (c) => `${fmt(c.memory.heapBytesPerDormitory)} / ${fmt(c.memory.heapBytesPerDormitoryAfterLoad)}`],
    ['rss per dormitory (B)', (c) => fmt(c.memory.rssBytesPerDormitory)],
    ['hot path (readings/s)', (c) => fmt(c.hotPath.readingsPerSecond)],
    ['  per reading p50 / p99 (µs)', (c) => `${fmt(c.hotPath.perReadingUs.p50)} / ${fmt(c.hotPath.perReadingUs.p99)}`],
    ['cut-off, idle p50 / p99 / max (µs)', (c) => lat(c.latency.idle.latencyUs)],
    ['cut-off, loaded p50 / p99 / max (µs)', (c) => lat(c.latency.underLoad.latencyUs)],
    ['  paced load offered / achieved (readings/s)', (c) => `${fmt(c.latency.underLoad.offeredReadingsPerSecond)} / ${fmt(c.latency.underLoad.achievedReadingsPerSecond)}`],
    ['batch check-in rows in s (rows/s)', (c) => (c.importDuringLoad ? `${fmt(c.importDuringLoad.rows)} in ${fmt(c.importDuringLoad.importSeconds)} (${fmt(c.importDuringLoad.rowsPerSecond)})` : '-')],
    ['  cut-off meanwhile p50 / p99 / max (µs)', (c) => (c.importDuringLoad ? lat(c.importDuringLoad.latency.latencyUs) : '-')],
    ['ledger stress (readings/s)', (c) => fmt(c.ledgerStress.readingsPerSecond)],
    ['  ledger commits/s, items/s, rows appended/s', (c) => `${fmt(c.ledger.saturated.commitsPerSecond)}, ${fmt(c.ledger.saturated.itemsPerSecond)}, ${fmt(c.ledger.saturated.rowsAddedPerSecond)}`],
    ['  mean commit (ms), busy share', (c) => `${fmt(c.ledger.saturated.meanCommitMs)}, ${fmt(c.ledger.saturated.commitBusyShare)}`],
    ['  billing_cursors rows / rewritten', (c) => `${fmt(c.ledger.saturated.billingCursorRows)} / ${fmt(c.ledger.saturated.billingCursorsUpdated)}`],
    ['reconcile mismatches', (c) => fmt(c.reconcileMismatches)],
  ];
  const header = ['dormitories', ...report.campuses.map((c) => fmt(c.dormitories))];
  const cellOf = (cell: (c: CampusScenarioFigures) => string, c: CampusScenarioFigures | FailedScenario): string => {
    if (!('error' in c)) return cell(c);
    try {
      return cell(c.measured as CampusScenarioFigures);
    } catch {
      return '-';
    }
  };
  const body = rows.map(([label, cell]) => [label, ...report.campuses.map((c) => cellOf(cell, c))]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const lines = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  for (const c of report.campuses) if ('error' in c) lines.push(`${fmt(c.dormitories)} dormitories failed: ${c.error}`);
  const p = report.protocolPath;
  lines.push('');
  if ('error' in p) lines.push(`protocol path: failed: ${p.error}`);
  else lines.push(`protocol path, 1 gateway x ${p.parameters.meters} meters: Modbus TCP ${fmt(p.modbusTcp.readingsPerSecond)} readings/s, MQTT ${fmt(p.mqtt.readingsPerSecond)} readings/s`);
  const m = report.machine;
  lines.push(`${m.cpuModel}, ${m.cores} cores, node ${m.node}, load average ${m.loadAverageAtStart} -> ${m.loadAverageAtEnd}; ${report.database.description}`);
  return lines.join('\n');
}
