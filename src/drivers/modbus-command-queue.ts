import type { SupplyCommand } from './gateway-driver.ts';

export interface QueuedCommand {
  readonly command: SupplyCommand;
  /** Write + read-back attempts made so far. */
  attempts: number;
  /** Monotonic ms (performance.now()) before which the next attempt must not start. */
  dueAtMs: number;
  /** commandSent has been reported. */
  sent: boolean;
}

/**
 * Supply commands waiting for the connection, oldest first. At most one command per meter
 * and target is queued: a newer one supersedes the older (a retried cut must never land
 * after the restore that followed it).
 */
export class ModbusCommandQueue {
  private readonly items: QueuedCommand[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Queues `command`; returns the command it superseded, if any. */
  add(command: SupplyCommand, nowMs: number): QueuedCommand | undefined {
    const index = this.items.findIndex(
      (item) => item.command.unitAddress === command.unitAddress && item.command.target === command.target,
    );
    const superseded = index >= 0 ? this.items.splice(index, 1)[0] : undefined;
    this.items.push({ command, attempts: 0, dueAtMs: nowMs, sent: false });
    return superseded;
  }

  /** Removes and returns the oldest command that is due. */
  takeDue(nowMs: number): QueuedCommand | undefined {
    const index = this.items.findIndex((item) => item.dueAtMs <= nowMs);
    return index >= 0 ? this.items.splice(index, 1)[0] : undefined;
  }

  /**
   * Puts a taken command back for another attempt. Returns the id of a newer command for
   * the same meter and target queued meanwhile, in which case `item` is not put back.
   */
  retry(item: QueuedCommand, dueAtMs: number): string | undefined {
    const newer = this.items.find(
      (other) => other.command.unitAddress === item.command.unitAddress && other.command.target === item.command.target,
    );
    if (newer) return newer.command.commandId;
    item.dueAtMs = dueAtMs;
    this.items.push(item);
    return undefined;
  }

  nextDueAtMs(): number {
    return this.items.reduce((min, item) => Math.min(min, item.dueAtMs), Number.POSITIVE_INFINITY);
  }

  drain(): QueuedCommand[] {
    return this.items.splice(0, this.items.length);
  }
}
