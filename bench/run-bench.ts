import type { Config } from '../src/config.ts';

export async function runBench(_config: Config): Promise<number> {
  console.error('benchmarks arrive with the live loop');
  return 1;
}
