import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Test } from 'tap';
import { waitFor } from './live-app.ts';

/** `campus-prepaid serve` as a child process, for tests of how a start ends. */
const BIN = path.resolve(import.meta.dirname, '../../bin/campus-prepaid.js');

export interface ServeExit {
  readonly code: number | null;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs `serve` and waits for it to exit on its own (the test's timeout is the backstop). */
export function serve(env: Record<string, string>): Promise<ServeExit> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD: 'serve-start-test', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr, seconds: (performance.now() - started) / 1000 })));
}

export interface RunningServe {
  readonly child: ChildProcess;
  readonly url: string;
  /** The admin's bearer header. */
  readonly auth: { authorization: string };
  readonly exited: Promise<unknown>;
}

/** Starts `serve` as a child process (killed at teardown), waits for it to listen and signs the admin in. */
export async function startServe(t: Test, env: Record<string, string>, adminPassword: string): Promise<RunningServe> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await waitFor('the server to listen', () => {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${output}`);
    return /listening on (http:\/\/\S+)/.exec(output)?.[1];
  }, 90_000);
  const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: adminPassword }) });
  if (login.status !== 200) throw new Error(`login: ${login.status}`);
  return { child, url, exited, auth: { authorization: `Bearer ${((await login.json()) as { token: string }).token}` } };
}
