import type { CampusScenarioParameters } from './scenarios/campus-scenario.ts';
import type { ProtocolPathParameters } from './scenarios/protocol-path.ts';

/** Readings outstanding at most in the closed-loop rounds (about 20 per gateway of 10,000 dormitories). */
const IN_FLIGHT = 1_000;

function campus(dormitories: number, importRows = 0): CampusScenarioParameters {
  return {
    shape: {
      dormitories,
      metersPerGateway: 200,
      dormitoriesPerBuilding: 500,
      probeDormitories: 50 + Math.round(dormitories / 40),
      protocol: 'modbus-tcp',
      gatewayAddress: 'bench:0',
    },
    // At most 55 one-second rounds after 2 of warm-up: the 60 s posting interval never falls due.
    hotPath: { clockMsPerRound: 1000, warmupRounds: 2, inFlight: IN_FLIGHT, minRounds: 5, maxRounds: 55, timeBudgetMs: 6_000 },
    latency: { idleProbes: 50, pacedSeconds: 6, pollIntervalMs: 1000, maxShareOfThroughput: 0.6 },
    // Every second round posts every meter's charges: 3 rounds after 1 of warm-up = 2 postings per meter at least.
    ledgerStress: { warmupRounds: 1, inFlight: IN_FLIGHT, minRounds: 3, maxRounds: 30, timeBudgetMs: 4_000 },
    // A year's batch check-in (issue 10) while the paced load runs: about as long as the import takes.
    ...(importRows > 0 ? { importDuringLoad: { rows: importRows, pacedSeconds: 10 } } : {}),
  };
}

/**
 * What `npm run bench` runs: two campus sizes, then the real protocol paths. Sized to finish
 * in about two minutes on the project's 2-core machine.
 */
export const BENCH_PLAN: { readonly campuses: readonly CampusScenarioParameters[]; readonly protocol: ProtocolPathParameters } = {
  campuses: [campus(2_000), campus(10_000, 10_000)],
  protocol: { meters: 100, seconds: 3 },
};
