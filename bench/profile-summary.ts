import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CpuProfile, ProfileNode } from './cpu-profile.ts';

/**
 * `node --import=tsx bench/profile-summary.ts <file.cpuprofile> [top]`: what a V8 CPU profile
 * (`--cpu-prof`, e.g. from `npm run bench:e2e -- --cpu-prof`) spent its samples on: self time
 * by category (PGlite, GC, nact, the app's actors, drivers, HTTP, ...) and the top functions by
 * self time, with their file and line.
 */

/** A category for a frame: the first rule whose pattern matches `url function`. */
const CATEGORIES: readonly (readonly [string, RegExp])[] = [
  ['(garbage collector)', /^ \(garbage collector\)$/],
  ['(idle)', /^ \(idle\)$/],
  ['(program)', /^ \(program\)$/],
  ['pglite', /@electric-sql\/pglite|pglite|^wasm:/],
  ['pg (PostgreSQL client)', /node_modules\/(pg|pg-protocol|pg-pool)\//],
  ['kysely', /node_modules\/kysely\//],
  ['nact', /node_modules\/nact\//],
  ['mqtt / aedes', /node_modules\/(mqtt|mqtt-packet|aedes|aedes-[a-z-]+|mqemitter|bl|readable-stream)\//],
  ['ws', /node_modules\/ws\//],
  ['fastify / http', /node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio)\//],
  ['pino (logging)', /node_modules\/(pino|sonic-boom|thread-stream)\//],
  ['prom-client', /node_modules\/prom-client\//],
  ['ajv', /node_modules\/ajv/],
  ['other node_modules', /node_modules\//],
  ['app: actors', /\/src\/actors\//],
  ['app: drivers', /\/src\/drivers\//],
  ['app: domain', /\/src\/domain\//],
  ['app: db', /\/src\/db\//],
  ['app: http', /\/src\/http\//],
  ['app: other', /\/src\//],
  ['node internals', /^node:|^internal\//],
  ['(native / builtins)', /^ /],
];

function categoryOf(node: ProfileNode): string {
  const key = `${node.callFrame.url} ${node.callFrame.functionName}`;
  for (const [name, pattern] of CATEGORIES) if (pattern.test(key)) return name;
  return 'other';
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const top = Number(process.argv[3] ?? 30);
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  let idle = 0;
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const category = categoryOf(node);
    total += us;
    if (category === '(idle)') idle += us;
    categories.set(category, (categories.get(category) ?? 0) + us);
    const where = node.callFrame.url ? `${path.relative(process.cwd(), node.callFrame.url.replace(/^file:\/\//, ''))}:${node.callFrame.lineNumber + 1}` : '';
    const name = `${node.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`);
  console.log('\nself time by category');
  for (const [name, us] of [...categories].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us)}  ${name}`);
  console.log(`\ntop ${top} functions by self time`);
  for (const [name, us] of [...functions].filter(([n]) => !n.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${name}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
