import pino from 'pino';
import t, { type Test } from 'tap';
import type { ActorDeps } from '../../src/actors/actor-deps.ts';
import { spawnCircuit, type CircuitMsg, type CircuitView } from '../../src/actors/circuit.actor.ts';
import type { GatewayMsg, GatewayView } from '../../src/actors/gateway.actor.ts';
import type { LedgerFlushed, LedgerMsg } from '../../src/actors/ledger.actor.ts';
import type { WriteAheadEntry, WriteAheadOutcome } from '../../src/actors/ledger-writer.ts';
import { dispatch, query, spawnActor, start, stop, type Ref, type SupervisionContext } from '../../src/actors/nact.ts';
import { SimulatedClock } from '../../src/clock.ts';
import type { CircuitSample } from '../../src/domain/reading.ts';
import { resolveRuleBook } from '../../src/domain/rules/rule-book.ts';
import { Metrics } from '../../src/metrics/metrics.ts';

/**
 * The circuit's side of the write-ahead: a cut waits for its control state and command record
 * to be written (a reading meanwhile sends nothing more), goes to the gateway once the write is
 * over, and is dropped, recorded as failed, when the circuit no longer wants it by then.
 */

const resume = (_m: unknown, _e: Error | undefined, ctx: SupervisionContext<unknown, never>) => ctx.resume as symbol;

interface Harness {
  readonly circuit: Ref<CircuitMsg>;
  readonly gateway: GatewayMsg[];
  readonly ledger: LedgerMsg[];
  readonly writes: WriteAheadEntry[];
  /** Ends the oldest write-ahead still open. */
  finish(outcome: WriteAheadOutcome): void;
  /** Every message sent so far has been handled by the circuit, the gateway and the ledger. */
  settled(): Promise<CircuitView>;
}

function harness(t: Test): Harness {
  const system = start();
  t.teardown(() => stop(system));
  const gateway: GatewayMsg[] = [];
  const ledger: LedgerMsg[] = [];
  const writes: WriteAheadEntry[] = [];
  const open: ((outcome: WriteAheadOutcome) => void)[] = [];
  const gatewayRef = spawnActor<null, GatewayMsg>(system, (s, msg) => {
    if (msg.type === 'GetGateway') dispatch(msg.replyTo, { gatewayId: 'g', online: true, meters: 1, commandsInFlight: 0 });
    else gateway.push(msg);
    return s;
  }, 'gateway.g', { initialState: null, onCrash: resume });
  const ledgerRef = spawnActor<null, LedgerMsg>(system, (s, msg) => {
    if (msg.type === 'Flush') dispatch(msg.replyTo, { type: 'LedgerFlushed', ok: true });
    else ledger.push(msg);
    return s;
  }, 'ledger', { initialState: null, onCrash: resume });
  const dormitory = spawnActor<null, unknown>(system, (s) => s, 'dormitory.d1', { initialState: null, onCrash: resume });
  const deps: ActorDeps = {
    clock: new SimulatedClock(Date.parse('2026-10-01T02:00:00Z'), 0),
    log: pino({ level: 'silent' }),
    metrics: new Metrics(),
    postingIntervalMs: 60_000,
    commandRetryMs: 2_000,
    nodeId: 'n',
    writeAhead: {
      writeAhead: (entry) => {
        writes.push(entry);
        return new Promise((resolve) => open.push(resolve));
      },
    },
  };
  const rules = resolveRuleBook({ malignantLoad: { mode: 'trip', totalPower: { enabled: true, limitW: 1000, consecutiveSamples: 1 }, increment: { enabled: false, windowSamples: 8, stepW: 100, pfThreshold: 0.95, minHits: 5 }, intervals: [], whitelist: [] } });
  const circuit = spawnCircuit(system, { circuitId: 'm1:socket', target: 'socket', meterId: 'm1', dormitoryId: 'd1', unitAddress: '1', gateway: gatewayRef, ledger: ledgerRef, dormitory, rules, zone: 480 }, deps);
  return {
    circuit,
    gateway,
    ledger,
    writes,
    finish: (outcome) => open.shift()!(outcome),
    settled: async () => {
      // The circuit first (what it dispatched is then queued at the others), then the others.
      const view = (await query(circuit, (replyTo: Ref<CircuitView>) => ({ type: 'GetCircuit', replyTo }), 5_000)) as CircuitView;
      await query(gatewayRef, (replyTo: Ref<GatewayView>) => ({ type: 'GetGateway', replyTo }), 5_000);
      await query(ledgerRef, (replyTo: Ref<LedgerFlushed>) => ({ type: 'Flush', replyTo }), 5_000);
      return view;
    },
  };
}

const sample = (powerW: number, relayClosed = true): CircuitSample => ({ kind: 'socket', voltageV: 220, currentA: powerW / 220, powerW, powerFactor: 1, energyWh: 1000, relayClosed });
const sampled = (h: Harness, powerW: number, at: number) => dispatch(h.circuit, { type: 'Sampled', sample: sample(powerW), at, decodedAtNs: process.hrtime.bigint() });
const sendCommands = (h: Harness) => h.gateway.filter((m) => m.type === 'SendCommand');

/** Waits for the write-ahead's answer to come back to the circuit (a promise, then a message). */
async function afterWrite(h: Harness): Promise<CircuitView> {
  await new Promise((resolve) => setImmediate(resolve));
  return h.settled();
}

t.test('a trip is written ahead, readings meanwhile send nothing more, the cut goes out once the write is over', async (t) => {
  const h = harness(t);
  const at = Date.parse('2026-10-01T02:00:00Z');
  sampled(h, 100, at);
  sampled(h, 1800, at + 1000);
  sampled(h, 1800, at + 2000); // the trip
  const view = await h.settled();
  t.same(view.cutReasons, ['malignant_load'], 'tripped');
  t.equal(h.writes.length, 1, 'one write-ahead');
  const entry = h.writes[0]!;
  t.match(entry.control?.state, { reasons: ['malignant_load'] }, 'it carries the trip reason');
  t.match(entry.command, { action: 'cut', state: 'requested', target: 'socket', reason: 'malignant_load' }, 'and the command record');
  t.equal(sendCommands(h).length, 0, 'nothing went to the gateway before the write');
  t.same(view.commandInFlight, { id: entry.command!.id, action: 'cut' }, 'the cut is in flight');

  for (let i = 3; i < 6; i++) sampled(h, 1800, at + i * 1000); // the relay still reads closed
  await h.settled();
  t.equal(h.writes.length, 1, 'readings while the write runs ask for no second write');
  t.equal(sendCommands(h).length, 0, 'and send nothing');

  h.finish('committed');
  await afterWrite(h);
  const sent = sendCommands(h);
  t.equal(sent.length, 1, 'one cut went to the gateway');
  t.match(sent[0], { command: { commandId: entry.command!.id, action: 'cut' }, writtenAhead: true }, 'the very command written ahead, not recorded again');
  t.notOk(h.ledger.some((m) => m.type === 'ControlChanged'), 'the trip was not queued for the group commit as well');
});

t.test('a database that is away does not hold the cut back', async (t) => {
  const h = harness(t);
  dispatch(h.circuit, { type: 'RelayReadBack', closed: true, at: 0, decodedAtNs: process.hrtime.bigint() });
  dispatch(h.circuit, { type: 'ImposeCut', target: 'all', reason: 'arrears', active: true, requestedBy: 'system' });
  await h.settled();
  t.equal(h.writes.length, 1);
  t.equal(h.writes[0]!.control, undefined, 'arrears is the dormitory\'s reason: only the command record is written ahead');
  h.finish('queued');
  await afterWrite(h);
  t.equal(sendCommands(h).length, 1, 'the cut went out');
});

t.test('a cut no longer wanted when its write is over is never sent, and recorded as failed', async (t) => {
  const h = harness(t);
  dispatch(h.circuit, { type: 'RelayReadBack', closed: true, at: 0, decodedAtNs: process.hrtime.bigint() });
  dispatch(h.circuit, { type: 'ImposeCut', target: 'all', reason: 'manual', active: true, requestedBy: 'op' });
  await h.settled();
  dispatch(h.circuit, { type: 'ImposeCut', target: 'all', reason: 'manual', active: false, requestedBy: 'op' });
  await h.settled();
  h.finish('committed');
  const view = await afterWrite(h);
  t.equal(sendCommands(h).length, 0, 'no command went to the gateway');
  t.equal(view.commandInFlight, null, 'nothing in flight');
  const failed = h.ledger.find((m) => m.type === 'CommandChanged');
  t.match(failed, { record: { id: h.writes[0]!.command!.id, state: 'failed', detail: 'superseded before it was sent' } }, 'its record is closed as failed');
});
