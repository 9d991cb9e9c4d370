/**
 * `npm run test:soak -- [--runs N] [--hog] [-j N] [--top K] [FILE ...]`
 *
 * Runs the whole suite (or the given test files) N times in a row, exactly as `npm test` does
 * (scripts/test.js: compiled once, each file run by node; DATABASE_URL / MQTT_URL pass through), and reports each run's
 * result, its failed files and wall time, then the slowest files over all runs. `--hog` keeps
 * one core busy with a spinning node process for the whole soak (the "busy machine" of issue
 * 14). Each run's TAP output is kept in the log directory it prints. Exits 1 if any run failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface FileResult {
  readonly file: string;
  readonly ok: boolean;
  readonly ms: number;
}

interface RunResult {
  readonly run: number;
  readonly exitCode: number | null;
  readonly wallMs: number;
  readonly files: readonly FileResult[];
}

/** Top-level lines of tap's TAP reporter: `ok 3 - test/a.test.ts # time=1234.5ms`. */
const FILE_LINE = /^(not ok|ok) \d+ - (\S+\.test\.ts)(?: # time=([\d.]+)ms)?/;

export function parseTapFiles(output: string): FileResult[] {
  const files: FileResult[] = [];
  for (const line of output.split('\n')) {
    const match = FILE_LINE.exec(line);
    if (match) files.push({ file: match[2]!, ok: match[1] === 'ok', ms: Number(match[3] ?? 0) });
  }
  return files;
}

/** The children a signal to the soak must take down with it (the runner is in its own process group; it kills its test files' groups on SIGTERM). */
const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM'); // the runner, which takes every test file it started down with it
  } catch {
    child.kill('SIGTERM');
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`soak: ${signal}: stopping tap, its test files and the hog`);
    for (const child of running) killGroup(child);
    process.exit(130);
  });
}

function runSuite(run: number, jobs: string | undefined, files: readonly string[], logFile: string): Promise<RunResult> {
  const started = performance.now();
  const args = ['scripts/test.js', ...(jobs ? ['-j', jobs] : []), ...files];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  const log = createWriteStream(logFile);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    log.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    log.on('error', (error) => {
      killGroup(child); // a log that cannot be written ends the soak with its reason, not an unhandled 'error' event
      reject(error);
    });
    child.on('close', (exitCode) => {
      running.delete(child);
      log.end();
      resolve({ run, exitCode, wallMs: performance.now() - started, files: parseTapFiles(output) });
    });
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      hog: { type: 'boolean', default: false },
      jobs: { type: 'string', short: 'j' },
      top: { type: 'string', default: '10' },
      'log-dir': { type: 'string' },
    },
    allowPositionals: true,
  });
  const runs = Number(values.runs);
  const top = Number(values.top);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs)) throw new Error('-j must be a positive integer');
  const logDir = values['log-dir'] ?? (await mkdtemp(path.join(tmpdir(), 'campus-prepaid-soak-')));
  await mkdir(logDir, { recursive: true }); // a --log-dir that does not exist yet is made, not an unhandled ENOENT in the first run
  console.log(`soak: ${runs} run(s)${values.hog ? ' beside a CPU hog' : ''}${values.jobs ? `, -j ${values.jobs}` : ''}; TAP logs in ${logDir}`);

  let hog: ChildProcess | undefined;
  if (values.hog) {
    hog = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore', detached: true });
    running.add(hog);
  }
  const results: RunResult[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const result = await runSuite(run, values.jobs, positionals, path.join(logDir, `run-${run}.tap`));
      results.push(result);
      const failed = result.files.filter((f) => !f.ok);
      const passed = result.exitCode === 0 && failed.length === 0;
      console.log(`run ${run}: ${passed ? 'PASS' : 'FAIL'} in ${seconds(result.wallMs)}, ${result.files.length - failed.length} of ${result.files.length} files passed${failed.length ? `; failed: ${failed.map((f) => f.file).join(', ')}` : ''}${result.exitCode !== 0 && failed.length === 0 ? ` (tap exited ${result.exitCode})` : ''}`);
    }
  } finally {
    hog?.kill();
  }

  const byFile = new Map<string, number[]>();
  for (const r of results) for (const f of r.files) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f.ms]);
  const slowest = [...byFile].map(([file, times]) => ({ file, max: Math.max(...times), mean: times.reduce((a, b) => a + b, 0) / times.length })).sort((a, b) => b.max - a.max);
  console.log(`\nslowest files (max / mean over ${runs} run(s)):`);
  for (const s of slowest.slice(0, top)) console.log(`  ${seconds(s.max).padStart(9)} ${seconds(s.mean).padStart(9)}  ${s.file}`);
  const failedRuns = results.filter((r) => r.exitCode !== 0 || r.files.some((f) => !f.ok)).length;
  console.log(`\nsoak: ${runs - failedRuns} of ${runs} runs passed`);
  console.log(`${runs - failedRuns} passed, ${failedRuns} failed`);
  return failedRuns === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
