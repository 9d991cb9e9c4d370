import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** CPU seconds (user + system) and resident memory of a process, from /proc (Linux). */
export async function processUsage(pid: number): Promise<{ cpuSeconds: number; rssBytes: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

/** Samples a process's CPU share (of one core) and RSS between marks. */
export class UsageMeter {
  private last: { at: number; cpuSeconds: number } | undefined;
  readonly samples: { cpuCores: number; rssBytes: number }[] = [];

  constructor(private readonly pid: () => number | undefined) {}

  async sample(): Promise<void> {
    const pid = this.pid();
    const usage = pid === undefined ? undefined : await processUsage(pid);
    if (!usage) return;
    const at = performance.now();
    if (this.last) this.samples.push({ cpuCores: (usage.cpuSeconds - this.last.cpuSeconds) / ((at - this.last.at) / 1000), rssBytes: usage.rssBytes });
    this.last = { at, cpuSeconds: usage.cpuSeconds };
  }

  /** Forgets the previous mark (a new process behind the same meter). */
  reset(): void {
    this.last = undefined;
  }

  summary(from = 0) {
    const s = this.samples.slice(from);
    if (s.length === 0) return { cpuCoresMean: null, cpuCoresMax: null, rssMiBStart: null, rssMiBEnd: null, rssMiBMax: null };
    const mib = (b: number) => Math.round(b / 1048576);
    return {
      cpuCoresMean: Number((s.reduce((a, x) => a + x.cpuCores, 0) / s.length).toFixed(2)),
      cpuCoresMax: Number(Math.max(...s.map((x) => x.cpuCores)).toFixed(2)),
      rssMiBStart: mib(s[0]!.rssBytes),
      rssMiBEnd: mib(s[s.length - 1]!.rssBytes),
      rssMiBMax: mib(Math.max(...s.map((x) => x.rssBytes))),
    };
  }
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves with the API URL once the server listens. */
  readonly listening: Promise<string>;
  /** The embedded broker's URL, once the server logged it (undefined with MQTT_URL). */
  brokerUrl: Promise<string>;
  readonly counts: { warn: number; error: number; lines: number };
  /** Log lines worth reporting (errors, and shutdown trouble), first few only. */
  readonly notable: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  readonly messages: Map<string, unknown>;
}

/** `campus-prepaid serve` as a child process (JSON logs on stdout, read line by line). */
export function startServer(env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = [], bin = 'bin/campus-prepaid.js'): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, bin, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const counts = { warn: 0, error: 0, lines: 0 };
  const notable: string[] = [];
  const messages = new Map<string, unknown>();
  let resolveListening: (url: string) => void = () => undefined;
  let resolveBroker: (url: string) => void = () => undefined;
  const server: ServerProcess = {
    child,
    listening: new Promise((resolve) => (resolveListening = resolve)),
    brokerUrl: new Promise((resolve) => (resolveBroker = resolve)),
    counts,
    notable,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    messages,
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    counts.lines++;
    let entry: { level?: number; msg?: string; url?: string; err?: { message?: string }; ms?: number; unwritten?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      const listening = /https?:\/\/\S+/.exec(line);
      if (listening && /listening|campus-prepaid/i.test(line)) resolveListening(listening[0]);
      return;
    }
    const level = entry.level ?? 0;
    if (level >= 40) counts.warn++;
    if (level >= 50) counts.error++;
    const msg = entry.msg ?? '';
    if (msg.startsWith('no MQTT_URL: started an embedded broker') && entry.url) resolveBroker(entry.url);
    if (msg === 'actor tree stopped') messages.set('stopped', entry);
    if (msg === 'actor tree booted') messages.set('booted', entry);
    if (/Server listening/.test(msg) && entry.url) resolveListening(entry.url);
    if ((level >= 50 || /unwritten|final flush|Query Timeout|did not post/.test(msg)) && notable.length < 10) notable.push(`${msg} ${entry.err?.message ?? ''}`.trim().slice(0, 300));
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (notable.length < 10) notable.push(`stderr: ${line.slice(0, 300)}`);
  });
  return server;
}
