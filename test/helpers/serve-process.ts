import { spawn } from 'node:child_process';
import path from 'node:path';

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
