import t from 'tap';
import { floodingGatewayCampus } from '../helpers/flooding-gateway.ts';

/**
 * Boot with a gateway already publishing: its driver subscribes only once every meter behind it
 * is attached, so no reading that arrives during boot is rejected as `unknown_unit`; readings the
 * node cannot place are counted, and logged at most once per gateway per minute with a count,
 * not one WARN line each.
 */
t.test('a campus booting while its gateway floods telemetry loses no reading to unknown_unit; an unknown unit is one log line with a count', async (t) => {
  const campus = await floodingGatewayCampus(t, 60);
  campus.flood();
  await campus.runtime.start();
  await campus.everyMeterRead();
  t.pass(`all ${campus.rooms.length} meters handled readings during the flood`);
  t.equal((await campus.metrics.metersOnline.get()).values[0]?.value, campus.rooms.length, 'campus_meters_online counts every meter');
  t.equal(await campus.rejectedTotal(), 0, 'no frame rejected during boot (no reading lost to unknown_unit)');
  t.same(campus.lines.filter((l) => /rejected/.test(l.msg)), [], 'nothing logged about rejections');
  await campus.stopFlood();

  // A unit nobody configured, published 40 times: counted 40 times, logged once.
  for (let i = 0; i < 40; i++) await campus.publish(campus.frame(['ghost']));
  while ((await campus.rejectedTotal()) < 40) await new Promise((resolve) => setTimeout(resolve, 10));
  const unknown = (await campus.metrics.framesRejected.get()).values.find((v) => v.labels.reason === 'unknown_unit')?.value;
  t.equal(unknown, 40, 'campus_frames_rejected_total{reason="unknown_unit"} counts each of the 40');
  const logged = campus.lines.filter((l) => /rejected/.test(l.msg));
  t.equal(logged.length, 1, `one log line for the 40 rejections within a minute (${logged.length})`);
});
