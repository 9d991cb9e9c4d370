import pino from 'pino';
import t, { type Test } from 'tap';
import type { ActorDeps } from '../../src/actors/actor-deps.ts';
import { resumeOnCrash } from '../../src/actors/actor-deps.ts';
import type { CircuitMsg } from '../../src/actors/circuit.actor.ts';
import { spawnGateway, type GatewayView } from '../../src/actors/gateway.actor.ts';
import { dispatch, query, spawnActor, start, stop, type Ref } from '../../src/actors/nact.ts';
import { SystemClock } from '../../src/clock.ts';
import type { GatewayDriver, GatewayDriverListener, SupplyCommand } from '../../src/drivers/gateway-driver.ts';
import { Metrics } from '../../src/metrics/metrics.ts';

/**
 * What a gateway tells a circuit about a failed command: `sent` (it may have switched the relay,
 * so readings may confirm it later) only when the driver put it on the wire while the gateway was
 * not known offline. A command published while the gateway's retained status says offline
 * reaches the broker only (a clean session drops it): an outside attack had one confirmed by the
 * readings of a relay moved by hand during the outage.
 */
type Outcome = Extract<CircuitMsg, { type: 'CommandOutcome' }>;

/** A gateway actor with a recording driver, circuit and ledger. */
function gatewayHarness(t: Test, extraDeps: Partial<ActorDeps> = {}) {
  const system = start();
  t.teardown(() => stop(system));
  const deps = { clock: new SystemClock(), log: pino({ level: 'silent' }), metrics: new Metrics(), postingIntervalMs: 60_000, commandRetryMs: 30_000, nodeId: 't', ...extraDeps };
  const outcomes: Outcome[] = [];
  const circuit = spawnActor<null, CircuitMsg>(
    system,
    (state, msg) => {
      if (msg.type === 'CommandOutcome') outcomes.push(msg);
      return state;
    },
    'circuit.test',
    { initialState: null, onCrash: resumeOnCrash(deps, 'circuit') },
  );
  const rows: { id: string; state: string; detail?: string }[] = [];
  const ledger = spawnActor<null, { type: string; record?: { id: string; state: string; detail?: string } }>(
    system,
    (state, msg) => {
      if (msg.type === 'CommandChanged' && msg.record) rows.push(msg.record);
      return state;
    },
    'ledger.test',
    { initialState: null, onCrash: resumeOnCrash(deps, 'ledger') },
  );
  const harness = { listener: undefined as GatewayDriverListener | undefined, sentToDriver: [] as SupplyCommand[], outcomes, rows, circuit };
  const driver: GatewayDriver = { start: () => Promise.resolve(), stop: () => Promise.resolve(), setMeters: () => undefined, send: (command) => void harness.sentToDriver.push(command) };
  const gateway = spawnGateway(system, { gatewayId: 'GW-S', protocol: 'mqtt', ledger: ledger as Ref<never>, createDriver: (l) => ((harness.listener = l), driver) }, deps);
  const settled = () => query(gateway, (replyTo: Ref<GatewayView>) => ({ type: 'GetGateway', replyTo }), 5_000);
  const send = async (commandId: string, action: SupplyCommand['action']) => {
    dispatch(gateway, { type: 'SendCommand', command: { commandId, unitAddress: '1', target: 'socket', action }, dormitoryId: 'D', meterId: 'M', reason: 'manual', requestedBy: 'admin', causedAtNs: undefined, replyTo: circuit });
    await settled();
  };
  return { ...harness, gateway, settled, send };
}

t.test('a failed command is `sent` only if it went out while the gateway was not known offline', async (t) => {
  const harness = gatewayHarness(t);
  const { outcomes, rows, sentToDriver, settled } = harness;
  const listener = () => harness.listener;
  /** One command through the gateway: the driver publishes it, then reports it failed (no ack). */
  const failedCommand = async (commandId: string, interrupted = false): Promise<Outcome> => {
    await harness.send(commandId, 'cut');
    t.ok(sentToDriver.some((c) => c.commandId === commandId), `${commandId} reached the driver`);
    listener()!.commandSent(commandId); // the publish succeeded (the broker took it)
    if (interrupted) listener()!.commandResult(commandId, 'failed', 'driver stopped', true);
    else listener()!.commandResult(commandId, 'failed', 'no acknowledgement within 5000 ms (after 3 attempts)');
    await settled();
    for (let turn = 0; turn < 20 && !outcomes.some((o) => o.commandId === commandId); turn++) await new Promise((resolve) => setImmediate(resolve));
    const outcome = outcomes.find((o) => o.commandId === commandId);
    if (!outcome) throw new Error(`no outcome for ${commandId}`);
    return outcome;
  };

  const unknown = await failedCommand('c-status-unknown');
  t.equal(unknown.sent, true, 'status not yet known: published counts as sent (it may have switched)');

  listener()!.gatewayStatus(false);
  await settled();
  const whileOffline = await failedCommand('c-offline');
  t.equal(whileOffline.sent, false, 'published while the gateway is known offline: not sent (no relay can have moved)');
  t.equal(whileOffline.coveredByOutage, true, 'and covered by the outage alarm');

  listener()!.gatewayStatus(true);
  await settled();
  const whileOnline = await failedCommand('c-online');
  t.equal(whileOnline.sent, true, 'published while online: sent');
  t.equal(whileOnline.coveredByOutage, false, 'and its own failure');
  t.notOk(whileOnline.interrupted, 'not an interruption');

  // A shutdown stops the driver with a command in flight: its outcome is unknown, not a failure of
  // the meter (an outside attack found a critical alarm that no reading after the restart cleared).
  const stopped = await failedCommand('c-stopped', true);
  t.equal(stopped.interrupted, true, 'the driver stopping with it in flight: interrupted (the circuit raises no alarm for it)');
  t.match(stopped.detail, /^interrupted: the server stopped before the meter answered \(driver stopped\); the relay is reconciled from its first reading after the restart$/, 'its detail says so');
  const row = rows.filter((r) => r.id === 'c-stopped').at(-1);
  t.equal(row?.detail, stopped.detail, 'and so does its command row');
});

t.test('while this server does not hold the runtime lock, restores are not sent (no alarm, the circuit retries); cuts still are', async (t) => {
  let held = false;
  const harness = gatewayHarness(t, { runtimeLockHeld: () => held });
  await harness.send('c-restore-unheld', 'restore');
  t.notOk(harness.sentToDriver.some((c) => c.commandId === 'c-restore-unheld'), 'the restore did not reach the driver');
  for (let turn = 0; turn < 20 && !harness.outcomes.some((o) => o.commandId === 'c-restore-unheld'); turn++) await new Promise((resolve) => setImmediate(resolve));
  t.match(harness.outcomes.find((o) => o.commandId === 'c-restore-unheld'), { outcome: 'failed', interrupted: true, sent: false, detail: /not sent: this server does not hold the runtime lock/ }, 'it failed as not sent, an interruption (no alarm)');
  await harness.send('c-cut-unheld', 'cut');
  t.ok(harness.sentToDriver.some((c) => c.commandId === 'c-cut-unheld'), 'a cut still goes (the database, and the lock with it, may just be away)');
  held = true;
  await harness.send('c-restore-held', 'restore');
  t.ok(harness.sentToDriver.some((c) => c.commandId === 'c-restore-held'), 'once the lock is held again, restores go');
});
