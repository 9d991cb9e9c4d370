import t from 'tap';
import { InboundQueue, type InboundDelivery } from '../../src/drivers/inbound-queue.ts';

/**
 * The queue an MQTT connection delivers its messages through (src/drivers/inbound-queue.ts): in
 * arrival order, a bounded amount of work per event-loop turn, telemetry shed (and counted) past
 * its bound while acks and status never are. Turns are counted with a setImmediate ticker; no
 * wall-clock deadline decides a result.
 */

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
async function until(done: () => boolean): Promise<void> {
  while (!done()) await nextTurn();
}

const delivery = (seen: string[], name: string, sheddable = true, work?: () => void): InboundDelivery => ({
  sheddable,
  deliver: () => {
    work?.();
    seen.push(name);
  },
});

t.test('everything pushed is delivered once, in the order it arrived, after the push returns', async (t) => {
  const seen: string[] = [];
  const queue = new InboundQueue({ maxSheddable: 10_000 });
  for (let i = 0; i < 5_000; i++) queue.push(delivery(seen, `m${i}`, i % 7 !== 0));
  t.equal(seen.length, 0, 'nothing is delivered inside push');
  await until(() => seen.length === 5_000);
  t.same(seen, Array.from({ length: 5_000 }, (_, i) => `m${i}`), 'in arrival order, across the ring growing from 256');
  t.equal(queue.length, 0);
});

t.test('one turn delivers until its budget is spent, then the event loop runs before the next', async (t) => {
  const seen: string[] = [];
  const queue = new InboundQueue({ turnBudgetMs: 0 }); // every delivery spends the budget
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  for (let i = 0; i < 50; i++) queue.push(delivery(seen, `m${i}`));
  await until(() => seen.length === 50);
  ticking = false;
  t.ok(turns >= 45, `50 deliveries took ${turns} turns of the event loop (one each, give or take the ticker's own order)`);
});

t.test('telemetry past the bound is shed and counted; acks and status are never shed', async (t) => {
  const seen: string[] = [];
  let told = 0;
  const queue = new InboundQueue({ maxSheddable: 3, onShed: () => told++ });
  for (let i = 0; i < 5; i++) queue.push(delivery(seen, `telemetry${i}`));
  queue.push(delivery(seen, 'ack', false));
  queue.push(delivery(seen, 'status', false));
  t.equal(queue.shed, 2, 'two telemetry messages beyond the bound of three');
  t.equal(told, 2, 'each shed one reported');
  await until(() => queue.length === 0);
  t.same(seen, ['telemetry0', 'telemetry1', 'telemetry2', 'ack', 'status'], 'the first three telemetry, then the ack and the status');
  queue.push(delivery(seen, 'telemetry5'));
  await until(() => queue.length === 0);
  t.same(seen.at(-1), 'telemetry5', 'room again once the queue drained');
  t.equal(queue.shed, 2);
});

t.test('clear drops what waits and nothing is delivered after it', async (t) => {
  const seen: string[] = [];
  const queue = new InboundQueue();
  for (let i = 0; i < 10; i++) queue.push(delivery(seen, `m${i}`));
  queue.clear();
  t.equal(queue.length, 0);
  for (let i = 0; i < 5; i++) await nextTurn();
  t.same(seen, [], 'nothing delivered');
  queue.push(delivery(seen, 'after'));
  await until(() => seen.length === 1);
  t.same(seen, ['after'], 'usable again');
});
