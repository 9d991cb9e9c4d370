import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../src/config.ts';
import { BENCH_PLAN } from './plan.ts';
import { loadAverage, reportHeader, summaryTable, type BenchReport, type FailedScenario } from './report.ts';
import { runCampusScenario, ScenarioFailed, type CampusScenarioFigures } from './scenarios/campus-scenario.ts';
import { runProtocolPath } from './scenarios/protocol-path.ts';
import { round } from './stats.ts';

export const RESULTS_FILE = path.join('bench-results', 'latest.json');

/**
 * `campus-prepaid bench` (`npm run bench`): the actor hot path on synthetic campuses of
 * each planned size (throughput, reading -> command latency, ledger group commit, memory),
 * then the real protocol paths. Writes bench-results/latest.json and prints a summary.
 * See docs/benchmarks.md for what each figure means.
 */
export async function runBench(config: Config): Promise<number> {
  const started = performance.now();
  const header = reportHeader(config);
  const progress = (line: string) => console.log(line);
  progress(`campus-prepaid bench on ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : 'PGlite'}; ${header.machine.cores} cores, node ${header.machine.node}, load average ${header.machine.loadAverageAtStart}`);

  const campuses: (CampusScenarioFigures | FailedScenario)[] = [];
  for (const parameters of BENCH_PLAN.campuses) {
    const dormitories = parameters.shape.dormitories;
    progress(`campus of ${dormitories} dormitories:`);
    campuses.push(await runCampusScenario(config, parameters, progress).catch((error: unknown) => failed(dormitories, error, progress)));
  }
  progress('protocol path (real drivers, one gateway):');
  const protocolPath = await runProtocolPath(config, BENCH_PLAN.protocol).catch((error: unknown) => ({ error: messageOf(error) }));

  const report: BenchReport = {
    ...header,
    machine: { ...header.machine, loadAverageAtEnd: loadAverage() },
    durationSeconds: round((performance.now() - started) / 1000, 1),
    campuses,
    protocolPath,
  };
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${summaryTable(report)}\n\nwrote ${RESULTS_FILE} (${report.durationSeconds} s)`);
  return campuses.some((c) => 'error' in c) || 'error' in protocolPath ? 1 : 0;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function failed(dormitories: number, error: unknown, progress: (line: string) => void): FailedScenario {
  progress(`  FAILED: ${messageOf(error)}`);
  return { dormitories, error: messageOf(error), measured: error instanceof ScenarioFailed ? error.measured : {} };
}
