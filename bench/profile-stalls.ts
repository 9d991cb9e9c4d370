import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CpuProfile, ProfileNode } from './cpu-profile.ts';

/**
 * `node --import=tsx bench/profile-stalls.ts <file.cpuprofile> [minMs] [top]`: the event loop's
 * long turns in a V8 CPU profile (`--cpu-prof`). A turn is a run of samples with no `(idle)`
 * sample in it (the loop waiting in epoll is sampled as idle); each turn of at least `minMs`
 * (default 100) is listed with its start (seconds into the profile), its length, the collector's
 * share, and the frames it spent the most time in, counted inclusively (a frame counts once per
 * sample however deep it recurs), which names the caller that made the turn long.
 */

interface Turn {
  readonly startUs: number;
  readonly entry: string;
  readonly samples: readonly number[];
  readonly deltas: readonly number[];
}

function frameName(node: ProfileNode): string {
  const url = node.callFrame.url.replace(/^file:\/\//, '');
  const where = url ? ` ${path.relative(process.cwd(), url)}:${node.callFrame.lineNumber + 1}` : '';
  return `${node.callFrame.functionName || '(anonymous)'}${where}`;
}

/**
 * Splits the samples into tasks: maximal runs of samples under the same entry frame (the frame
 * right below the root: a timer, an immediate, an I/O callback), ended by an idle sample or a
 * different entry; the collector's samples belong to the task they interrupt. Two tasks of the
 * same entry back to back merge (the profile cannot tell them apart), so a long task here is a
 * long task or a run of short ones with no other entry between them.
 */
function turnsOf(profile: CpuProfile, idleIds: ReadonlySet<number>, entryOf: (id: number) => string, gcIds: ReadonlySet<number>): Turn[] {
  const turns: Turn[] = [];
  let at = 0;
  let current: { startUs: number; entry: string; samples: number[]; deltas: number[] } | undefined;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (idleIds.has(id)) {
      if (current) turns.push(current);
      current = undefined;
      return;
    }
    if (!gcIds.has(id)) {
      const entry = entryOf(id);
      if (current && current.entry !== entry) {
        turns.push(current);
        current = undefined;
      }
      current ??= { startUs: at, entry, samples: [], deltas: [] };
    }
    current ??= { startUs: at, entry: '(garbage collector)', samples: [], deltas: [] };
    current.samples.push(id);
    current.deltas.push(delta);
  });
  if (current) turns.push(current);
  return turns;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-stalls <file.cpuprofile> [minMs] [top]');
  const minMs = Number(process.argv[3] ?? 100);
  const top = Number(process.argv[4] ?? 12);
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const gcIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(garbage collector)').map((n) => n.id));

  const entryOf = (id: number): string => {
    let node = id;
    for (let parent = parentOf.get(node); parent !== undefined && parentOf.get(parent) !== undefined; parent = parentOf.get(parent)) node = parent;
    return frameName(byId.get(node)!);
  };
  const turns = turnsOf(profile, idleIds, entryOf, gcIds);
  const lengthMs = (turn: Turn) => turn.deltas.reduce((a, b) => a + b, 0) / 1000;
  const long = turns.filter((turn) => lengthMs(turn) >= minMs);
  const histogram = [10, 50, 100, 250, 500, 1000].map((ms) => [ms, turns.filter((t) => lengthMs(t) >= ms).length] as const);
  console.log(`${file}: ${turns.length} tasks; tasks of at least ${histogram.map(([ms, n]) => `${ms} ms: ${n}`).join(', ')}`);

  for (const turn of long.sort((a, b) => lengthMs(b) - lengthMs(a)).slice(0, 20)) {
    const inclusive = new Map<string, number>();
    let gcUs = 0;
    turn.samples.forEach((id, i) => {
      const us = turn.deltas[i] ?? 0;
      if (gcIds.has(id)) gcUs += us;
      const seen = new Set<string>();
      for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
        const name = frameName(byId.get(node)!);
        if (seen.has(name)) continue;
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
    });
    const ms = lengthMs(turn);
    console.log(`\ntask at ${(turn.startUs / 1e6).toFixed(1)} s: ${ms.toFixed(0)} ms, collector ${(gcUs / 1000).toFixed(0)} ms, entry ${turn.entry}`);
    const frames = [...inclusive]
      .filter(([name]) => !name.startsWith('(root)') && !name.startsWith('(program)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
    for (const [name, us] of frames) console.log(`  ${((100 * us) / 1000 / ms).toFixed(0).padStart(3)} %  ${name}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
