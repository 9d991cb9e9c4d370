/**
 * A first-in first-out queue in a ring that only grows (its capacity a power of two): pushing and
 * taking allocate nothing once it is large enough. An array pushed onto and dropped or sliced
 * per turn was a sixth of the server's allocation at 20,000 readings a second
 * (src/actors/draining-actor.ts's run queue, src/drivers/inbound-queue.ts).
 */
export class RingQueue<T> {
  private ring: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 256) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity *= 2;
    this.ring = new Array<T | undefined>(capacity).fill(undefined);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = item;
    this.count++;
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.count--;
    return item;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const bigger = new Array<T | undefined>(this.ring.length * 2).fill(undefined);
    for (let i = 0; i < this.count; i++) bigger[i] = this.ring[(this.head + i) & (this.ring.length - 1)];
    this.ring = bigger;
    this.head = 0;
  }
}
