import { performance } from 'node:perf_hooks';
import { RingQueue } from '../ring-queue.ts';

/** What one queued delivery does when its turn comes. Must not throw (the MQTT connection wraps each handler). */
export interface InboundDelivery {
  /** Telemetry may be shed when the queue is full; acks, status and connection losses never are. */
  readonly sheddable: boolean;
  deliver(): void;
}

export interface InboundQueueOptions {
  /** Wall time one event-loop turn may spend delivering before it yields to I/O and timers. */
  readonly turnBudgetMs?: number;
  /** Sheddable deliveries queued at most; a sheddable one arriving beyond is dropped (`shed`). */
  readonly maxSheddable?: number;
  /** Told of each shed delivery (a metric). */
  readonly onShed?: () => void;
}

export const DEFAULT_INBOUND_TURN_BUDGET_MS = 4;
/** About three seconds of telemetry at 20,000 meters (32 meters a message). */
export const DEFAULT_INBOUND_MAX_SHEDDABLE = 2_000;

/**
 * The messages one broker connection delivers, in arrival order, a few milliseconds of them per
 * event-loop turn.
 *
 * Why: mqtt.js hands every packet it parsed from a socket read to its handler in one go (its
 * packets are processed through `process.nextTick`), and a read after a busy moment holds many:
 * at 10,000 to 20,000 meters one turn decoded a backlog of telemetry for 150 to 200 ms, and the
 * garbage it made brought scavenges into the same turn. The write-ahead of a cut, its command's
 * publish and every timer waited behind it. Here a message is queued when it arrives (a push) and
 * delivered from one `setImmediate` per turn for at most `turnBudgetMs`; acks, status and the
 * connection's loss go through the same queue, so a gateway's messages keep their order.
 *
 * Bounded: past `maxSheddable` queued telemetry messages, a new one is dropped and counted
 * (registers are cumulative: a later message bills what a dropped one would have; only its
 * samples for the safety rules are lost). `clear()` drops everything queued (the connection
 * stops).
 */
export class InboundQueue {
  private readonly queued = new RingQueue<InboundDelivery>(256);
  private sheddable = 0;
  private scheduled = false;
  private immediate: NodeJS.Immediate | undefined;
  private readonly turnBudgetMs: number;
  private readonly maxSheddable: number;
  /** Sheddable deliveries dropped because the queue was full. */
  shed = 0;

  constructor(private readonly options: InboundQueueOptions = {}) {
    this.turnBudgetMs = options.turnBudgetMs ?? DEFAULT_INBOUND_TURN_BUDGET_MS;
    this.maxSheddable = options.maxSheddable ?? DEFAULT_INBOUND_MAX_SHEDDABLE;
  }

  /** Deliveries waiting. */
  get length(): number {
    return this.queued.length;
  }

  push(delivery: InboundDelivery): void {
    if (delivery.sheddable) {
      if (this.sheddable >= this.maxSheddable) {
        this.shed++;
        this.options.onShed?.();
        return;
      }
      this.sheddable++;
    }
    this.queued.push(delivery);
    if (!this.scheduled) {
      this.scheduled = true;
      this.immediate = setImmediate(this.run);
    }
  }

  /** Drops everything queued. */
  clear(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.scheduled = false;
    this.queued.clear();
    this.sheddable = 0;
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.immediate = undefined;
    const turnEnds = performance.now() + this.turnBudgetMs;
    try {
      for (let delivery = this.queued.shift(); delivery !== undefined; delivery = this.queued.shift()) {
        if (delivery.sheddable) this.sheddable--;
        delivery.deliver();
        if (performance.now() >= turnEnds) break;
      }
    } finally {
      if (this.queued.length > 0 && !this.scheduled) {
        this.scheduled = true;
        this.immediate = setImmediate(this.run);
      }
    }
  };
}
