import t from 'tap';
import { floodingGatewayCampus } from '../helpers/flooding-gateway.ts';

/**
 * Shutdown while a gateway floods telemetry: the drivers stop first, the gateways and meters
 * drain, every reading a meter was given is posted (its cursor is the last register delivered),
 * one ledger flush commits it, and nothing is left unwritten or timed out.
 */
t.test('stopping under a telemetry flood posts every delivered reading and leaves nothing unwritten', async (t) => {
  const campus = await floodingGatewayCampus(t, 60);
  await campus.runtime.start();
  campus.flood();
  await campus.everyMeterRead();
  // Billing posts once an hour of clock time here: the charges since each meter's first reading are pending in the actors.
  await campus.stopRuntime(); // the gateway is still publishing
  await campus.stopFlood();

  const cursors = new Map((await campus.db.selectFrom('billing_cursors').select(['meter_id', 'register']).execute()).map((c) => [c.meter_id, Number(c.register)]));
  const behind = campus.units.filter((unit) => cursors.get(`M-R-${unit}`) !== campus.delivered.get(unit));
  t.same(behind, [], 'every meter\'s cursor is the last register the driver delivered to it');
  const errors = campus.lines.filter((l) => l.level >= 50);
  t.same(errors.map((l) => l.msg), [], 'no error logged (no "final flush failed", no "ledger closed with unwritten items")');
  const stopped = campus.lines.find((l) => l.msg === 'actor tree stopped');
  t.equal(stopped?.unwritten, 0, 'the writer closed with nothing unwritten');
});
