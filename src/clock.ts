/**
 * The injected clock. Logic never calls Date.now() or setTimeout directly: it asks the
 * clock, so the simulator and the tests can run a semester in seconds.
 */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /**
   * Runs `callback` once `delayMs` of this clock's time has passed. Returns a cancel
   * function. Simulated clocks fire timers as their time advances.
   */
  schedule(delayMs: number, callback: () => void): () => void;
}

/** Wall-clock time. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, callback: () => void): () => void {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref?.();
    return () => clearTimeout(handle);
  }
}

interface PendingTimer {
  readonly dueAt: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that runs `speed` times faster than real time (1x .. 3600x) and can jump. Timers
 * are fired in due order as simulated time passes; a jump fires everything due up to the
 * new time. `speed = 0` freezes time (tests advance it with `advance`).
 */
export class SimulatedClock implements Clock {
  private baseSimMs: number;
  private baseRealMs: number;
  private speedFactor: number;
  private readonly timers: PendingTimer[] = [];
  private seq = 0;
  private ticker: NodeJS.Timeout | undefined;

  constructor(startMs: number, speed = 1, private readonly tickMs = 20) {
    this.baseSimMs = startMs;
    this.baseRealMs = Date.now();
    this.speedFactor = speed;
  }

  get speed(): number {
    return this.speedFactor;
  }

  now(): number {
    return this.baseSimMs + (Date.now() - this.baseRealMs) * this.speedFactor;
  }

  setSpeed(speed: number): void {
    const current = this.now();
    this.baseSimMs = current;
    this.baseRealMs = Date.now();
    this.speedFactor = speed;
    this.ensureTicker();
  }

  /** Jumps to `timeMs` (forward only), firing every timer due on the way. */
  jumpTo(timeMs: number): void {
    const current = this.now();
    if (timeMs < current) throw new RangeError('the simulated clock only moves forward');
    this.baseSimMs = timeMs;
    this.baseRealMs = Date.now();
    this.fireDue();
  }

  /** Moves time forward by `deltaMs`, firing due timers. */
  advance(deltaMs: number): void {
    this.jumpTo(this.now() + deltaMs);
  }

  schedule(delayMs: number, callback: () => void): () => void {
    const timer: PendingTimer = { dueAt: this.now() + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    this.ensureTicker();
    return () => {
      timer.cancelled = true;
    };
  }

  /** Stops the background ticker (pending timers stay, and fire on advance/jump). */
  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private ensureTicker(): void {
    if (this.ticker || this.speedFactor === 0) return;
    this.ticker = setInterval(() => this.fireDue(), this.tickMs);
    this.ticker.unref();
  }

  private fireDue(): void {
    const now = this.now();
    for (;;) {
      let next: PendingTimer | undefined;
      for (const timer of this.timers) {
        if (timer.cancelled || timer.dueAt > now) continue;
        if (!next || timer.dueAt < next.dueAt || (timer.dueAt === next.dueAt && timer.seq < next.seq)) next = timer;
      }
      if (!next) break;
      next.cancelled = true;
      next.callback();
    }
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
  }
}
