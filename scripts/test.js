#!/usr/bin/env node
/**
 * `npm test [-- -j N] [-- test/x.test.ts ...]`: the tap suite, compiled once, each file run by plain node.
 *
 * Every test file is its own process (and many start servers or CLIs as children). Measured on this
 * repo, loading the app costs a process ~2 s of CPU with plain node, ~4.3 s under the tap runner
 * (its @tapjs/processinfo loader hook, which it always adds, sees every module through a worker
 * thread and reads every file; children inherit it through NODE_OPTIONS), and ~5.7 s with tsx's
 * hooks on top: over the ~200 processes of a run, more than half the suite's CPU. So this:
 *
 * 1. compiles src/, test/, migrations/, bench/ and scripts/ with tsc (emit only, tsconfig.build.json;
 *    `npm run typecheck` is the type check) into `build/run-<pid>/`, a folder of its own per run,
 *    so two runs side by side in one checkout never touch each other's files. It mirrors the
 *    repository: the folders read by path at run time are linked into it, and its
 *    `bin/campus-prepaid.js` starts the compiled CLI;
 * 2. runs each compiled test file with `node --enable-source-maps` (tap's `t` runs standalone: it
 *    prints TAP and its own counts), N at a time, each in its own process group, with tap's
 *    timeout (TAP_TIMEOUT, 420 s as in .taprc) and a hard kill 60 s after it, the longest first
 *    (by the times of earlier runs, kept in .tap/test-times.json);
 * 3. prints TAP as `tap -R tap` does (each file a subtest named by its source path, so
 *    `test/x.test.ts` in the output is the file to rerun), then `# { total, pass, fail }` over all
 *    files, and exits 1 if any file failed; removes the folder.
 *
 * Test files named on the command line run alone. `npx tap test/x.test.ts` still runs a file from
 * source through tsx with tap's own runner (`.taprc`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout, clearTimeout } from 'node:timers';
import { parseArgs } from 'node:util';
import { compileTree, root } from './compile.js';

const runDir = path.join(root, 'build', `run-${process.pid}`);
const TIMEOUT_SECONDS = Number(process.env.TAP_TIMEOUT ?? 420);
const COUNT_KEYS = ['total', 'pass', 'fail', 'todo', 'skip'];
/** Each file's wall time in the last run that ran it (not in git): the next run starts the longest first. */
const TIMES_FILE = path.join(root, '.tap', 'test-times.json');
/**
 * TEST_CPU=1 (CI sets it): each file runs under GNU time, which reports the CPU (user + system) of
 * the file's process and of every child it waited for (servers, CLIs, the browser); the TAP line
 * gets `cpu=` and the run ends with the files that cost the most CPU. On two cores the suite is
 * CPU bound, so that, not wall time, says which files make a run long.
 */
const GNU_TIME = '/usr/bin/time';
const measureCpu = process.env.TEST_CPU === '1' && existsSync(GNU_TIME);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { jobs: { type: 'string', short: 'j', default: process.env.TEST_JOBS ?? '3' }, reporter: { type: 'string', short: 'R' } },
});
if (!/^[1-9]\d*$/.test(values.jobs)) {
  console.error(`-j must be a positive integer, got ${values.jobs}`);
  process.exit(2);
}
const jobs = Number(values.jobs);
for (const file of positionals) {
  if (!/^test\/.+\.test\.ts$/.test(path.relative(root, path.resolve(file)))) {
    console.error(`not a test file under test/: ${file}`);
    process.exit(2);
  }
}

let cleaned = false;
function clean() {
  if (!cleaned) rmSync(runDir, { recursive: true, force: true });
  cleaned = true;
}

function compile() {
  const started = performance.now();
  const status = compileTree(runDir);
  if (status !== 0) {
    clean();
    console.error(`# tsc could not compile the suite (exit ${status})`);
    process.exit(1);
  }
  console.log(`# compiled the suite into ${path.relative(root, runDir)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** The source paths (test/…/x.test.ts) of every compiled test file. */
function allTestFiles() {
  return readdirSync(path.join(runDir, 'test'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.js'))
    .map((entry) => path.relative(runDir, path.join(entry.parentPath, entry.name)).replace(/\.js$/, '.ts'))
    .sort();
}

/** A file's own counts, from the `# { total: 3, pass: 2, fail: 1 }` line tap prints last when it runs standalone. */
function countsOf(output) {
  const line = output.split('\n').reverse().find((text) => /^# \{ total: \d+/.test(text));
  if (!line) return undefined;
  return Object.fromEntries(COUNT_KEYS.map((key) => [key, Number(new RegExp(`\\b${key}: (\\d+)`).exec(line)?.[1] ?? 0)]));
}

const running = new Set();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Runs one compiled file; resolves with its output, exit and time. */
function runFile(file) {
  const started = performance.now();
  const compiledFile = path.join(runDir, file.replace(/\.ts$/, '.js'));
  return new Promise((resolve) => {
    const cpuFile = path.join(runDir, `${file.replaceAll('/', '_')}.cpu`);
    const command = [process.execPath, '--enable-source-maps', compiledFile];
    const [program, ...args] = measureCpu ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, ...command] : command;
    const child = spawn(program, args, {
      cwd: root,
      detached: true, // its own process group: a timeout takes down the servers and browsers it started too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TAP_TIMEOUT: String(TIMEOUT_SECONDS) },
    });
    running.add(child);
    let output = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    let timedOut = false;
    const hardKill = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, (TIMEOUT_SECONDS + 60) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(hardKill);
      running.delete(child);
      killGroup(child, 'SIGKILL'); // anything it left behind in its group
      const rusage = measureCpu ? readCpu(cpuFile) : undefined;
      resolve({ file, output, stderr, code, signal: signal ?? rusage?.signal ?? null, timedOut, ms: performance.now() - started, cpuSeconds: rusage?.cpuSeconds });
    });
  });
}

/** GNU time's report: "user sys", after "Command terminated by signal N" when the file was killed. */
function readCpu(cpuFile) {
  try {
    const text = readFileSync(cpuFile, 'utf8');
    const killed = /terminated by signal (\d+)/.exec(text);
    const last = text.trim().split('\n').at(-1).split(' ').map(Number);
    return { cpuSeconds: last.length === 2 && last.every(Number.isFinite) ? last[0] + last[1] : undefined, signal: killed ? `signal ${killed[1]}` : undefined };
  } catch {
    return undefined; // killed before time wrote it
  }
}

const indent = (text) => text.replace(/\n$/, '').split('\n').map((line) => (line ? `    ${line}` : line)).join('\n');

compile();
const files = positionals.length > 0 ? positionals.map((file) => path.relative(root, path.resolve(file))) : allTestFiles();
const totals = Object.fromEntries(COUNT_KEYS.map((key) => [key, 0]));
const failedFiles = [];
/** CPU seconds per file (TEST_CPU=1). */
const cpuOf = {};
let reported = 0;
const suiteStarted = performance.now();
console.log('TAP version 14');

function report(result) {
  const counts = countsOf(result.output);
  const ok = result.code === 0 && !result.timedOut && counts !== undefined && counts.fail === 0;
  for (const key of COUNT_KEYS) totals[key] += counts?.[key] ?? 0;
  if (!ok && (counts?.fail ?? 0) === 0) {
    // died, hung or exited non-zero with nothing failed: still a failure, counted as one more check
    totals.total += 1;
    totals.fail += 1;
  }
  if (!ok) failedFiles.push(result.file);
  console.log(`# Subtest: ${result.file}`);
  if (result.output) console.log(indent(result.output));
  if (!ok && result.stderr) console.log(indent(`# stderr:\n${result.stderr.split('\n').map((line) => `# ${line}`).join('\n')}`));
  if (result.timedOut) console.log(`    # killed: no exit ${TIMEOUT_SECONDS + 60} s after its start`);
  const why = ok ? '' : ` # exit ${result.code ?? result.signal}${counts ? '' : ', no counts (it died before tap finished)'}`;
  const cpu = result.cpuSeconds === undefined ? '' : ` cpu=${result.cpuSeconds.toFixed(1)}s`;
  if (result.cpuSeconds !== undefined) cpuOf[result.file] = result.cpuSeconds;
  console.log(`${ok ? 'ok' : 'not ok'} ${++reported} - ${result.file}${ok ? ` # time=${result.ms.toFixed(3)}ms${cpu}` : why}`);
  if (!ok) console.log('');
}

process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGHUP', () => stop('SIGHUP'));
function stop(signal) {
  for (const child of running) killGroup(child, 'SIGKILL');
  clean();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/**
 * Longest first, so the last minutes of a run are not one long file alone: by the times of earlier
 * runs here; with none (a fresh clone), the browser tests first (they are among the longest), then
 * the rest in name order. Files never timed go before those that were.
 */
function readTimes() {
  try {
    return JSON.parse(readFileSync(TIMES_FILE, 'utf8'));
  } catch {
    return {};
  }
}
const times = readTimes();
const weight = (file) => times[file] ?? (file.includes('.browser.') ? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER - 1);
const queue = [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
const timed = {};
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const result = await runFile(file);
      timed[file] = Math.round(result.ms);
      report(result);
    }
  }),
);
clean();
try {
  mkdirSync(path.dirname(TIMES_FILE), { recursive: true });
  writeFileSync(TIMES_FILE, JSON.stringify({ ...readTimes(), ...timed }, null, 1));
} catch (error) {
  console.log(`# could not keep the file times: ${error.message}`);
}
console.log(`1..${reported}`);
const shown = COUNT_KEYS.filter((key) => key === 'total' || key === 'pass' || totals[key] > 0).map((key) => `${key}: ${totals[key]}`);
console.log(`# { ${shown.join(', ')} }`);
if (failedFiles.length > 0) console.log(`# failed files: ${failedFiles.join(' ')}`);
if (measureCpu) {
  const costly = Object.entries(cpuOf).sort((a, b) => b[1] - a[1]);
  const sum = costly.reduce((total, [, seconds]) => total + seconds, 0);
  console.log(`# cpu: ${sum.toFixed(0)} s over ${costly.length} files; the most: ${costly.slice(0, 15).map(([file, seconds]) => `${file} ${seconds.toFixed(1)}`).join(', ')}`);
}
console.log(`# time=${(performance.now() - suiteStarted).toFixed(3)}ms`);
// Exit once stdout has taken everything: writes to a pipe are asynchronous, and an exit right
// after a large run's output cut it short (`npm test | grep` lost the last files and the counts).
process.stdout.write('', () => process.exit(failedFiles.length > 0 ? 1 : 0));
