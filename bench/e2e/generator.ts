import { connect, type MqttClient } from 'mqtt';
import type { FromGenerator, GeneratorGateway, ToGenerator } from './generator-protocol.ts';

/**
 * The e2e bench's load generator, in its own process (`fork`ed by bench/e2e/run-e2e.ts): one
 * MQTT client per gateway that does what docs/mqtt.md asks of a gateway (clean session, a
 * retained `offline` will, `command` subscribed, retained `online`, telemetry of every meter
 * each publish interval in messages of `metersPerMessage`, each command executed and
 * acknowledged with its read-back). Registers integrate a steady benign load per meter (an
 * open relay draws nothing). A probe adds 1 kWh to one meter's socket register and times the
 * cut command it causes, from the publish to the command arriving on this client.
 */

const CIRCUITS = ['lighting', 'socket', 'ac'] as const;
type Circuit = (typeof CIRCUITS)[number];

interface Meter {
  readonly unit: string;
  readonly powerW: Record<Circuit, number>;
  readonly energyWh: Record<Circuit, number>;
  readonly relayClosed: Record<Circuit, boolean>;
  lastAt: number;
}

interface Gateway {
  readonly spec: GeneratorGateway;
  readonly meters: Map<string, Meter>;
  /** Its meters in messages of `metersPerMessage`. */
  readonly chunks: readonly Meter[][];
  client: MqttClient | undefined;
}

let gateways: Gateway[] = [];
let topicPrefix = 'campus';
let messagesPublished = 0;
let readingsPublished = 0;
let commandsSeen = 0;
let acksPublished = 0;
let maxScheduleLagMs = 0;
const probes = new Map<string, number>();
let probeLatenciesMs: number[] = [];
let ticker: NodeJS.Timeout | undefined;

const send = (message: FromGenerator) => process.send?.(message);
const topic = (gatewayId: string, channel: string) => `${topicPrefix}/${gatewayId}/${channel}`;

/** Deterministic per-meter load (a small LCG): lights 20-120 W, socket 10-400 W, AC on (0.6-1.5 kW) or standby (3 W). */
function meterOf(unit: string, index: number): Meter {
  let seed = (index * 2654435761) >>> 0;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const ac = next() < 0.4 ? 600 + next() * 900 : 3;
  return {
    unit,
    powerW: { lighting: 20 + next() * 100, socket: 10 + next() * 390, ac },
    energyWh: { lighting: 1_000 + index, socket: 2_000 + index, ac: 3_000 + index },
    relayClosed: { lighting: true, socket: true, ac: true },
    lastAt: Date.now(),
  };
}

function sample(meter: Meter, now: number) {
  const hours = (now - meter.lastAt) / 3_600_000;
  meter.lastAt = now;
  const circuits: Record<string, object> = {};
  let energyWh = 0;
  let powerW = 0;
  for (const kind of CIRCUITS) {
    const p = meter.relayClosed[kind] ? meter.powerW[kind] : 0;
    meter.energyWh[kind] += p * hours;
    const e = Math.floor(meter.energyWh[kind]);
    energyWh += e;
    powerW += p;
    circuits[kind] = { voltageV: 230, currentA: Math.round((p / 230) * 100) / 100, powerW: Math.round(p), powerFactor: 0.95, energyWh: e, relayClosed: meter.relayClosed[kind] };
  }
  return [{ ts: now, values: { energyWh, voltageV: 230, currentA: Math.round((powerW / 230) * 100) / 100, powerW: Math.round(powerW), powerFactor: 0.95, circuits } }];
}

function publishTelemetry(gateway: Gateway, meters: readonly Meter[]): void {
  const client = gateway.client;
  if (!client?.connected) return;
  const now = Date.now();
  const payload: Record<string, unknown> = {};
  for (const meter of meters) payload[meter.unit] = sample(meter, now);
  client.publish(topic(gateway.spec.id, 'telemetry'), JSON.stringify(payload), { qos: 1 });
  messagesPublished++;
  readingsPublished += meters.length;
}

function onCommand(gateway: Gateway, payload: Buffer): void {
  commandsSeen++;
  const seenAt = performance.now();
  const command = JSON.parse(payload.toString()) as { id: string; unit: string; target: Circuit; action: 'cut' | 'restore' };
  const key = `${gateway.spec.id}|${command.unit}`;
  const probedAt = probes.get(key);
  if (probedAt !== undefined && command.action === 'cut') {
    probes.delete(key);
    probeLatenciesMs.push(seenAt - probedAt);
  }
  const meter = gateway.meters.get(command.unit);
  if (!meter || !CIRCUITS.includes(command.target)) {
    gateway.client?.publish(topic(gateway.spec.id, 'ack'), JSON.stringify({ id: command.id, ok: false, error: `no ${command.target} on unit ${command.unit}` }), { qos: 1 });
    return;
  }
  meter.relayClosed[command.target] = command.action === 'restore';
  gateway.client?.publish(topic(gateway.spec.id, 'ack'), JSON.stringify({ id: command.id, ok: true, relayClosed: meter.relayClosed[command.target] }), { qos: 1 });
  acksPublished++;
}

function connectGateway(gateway: Gateway, url: string): Promise<void> {
  const { spec } = gateway;
  const client = connect(url, {
    clientId: `e2e-gen-${spec.id}`,
    clean: true,
    username: spec.username,
    password: spec.password,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    will: { topic: topic(spec.id, 'status'), payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  gateway.client = client;
  client.on('message', (_topic, payload) => onCommand(gateway, payload));
  client.on('error', () => undefined); // reconnects on its own; a refused CONNECT shows as not connected
  return new Promise((resolve) => {
    client.on('connect', () => {
      void client.subscribeAsync(topic(spec.id, 'command'), { qos: 1 }).then(async () => {
        await client.publishAsync(topic(spec.id, 'status'), 'online', { qos: 1, retain: true });
        for (const chunk of gateway.chunks) publishTelemetry(gateway, chunk);
        resolve();
      });
    });
  });
}

/** Spreads every gateway's messages evenly over each publish interval. */
function startPublishing(publishIntervalMs: number): void {
  const messages = gateways.flatMap((g) => g.chunks.map((chunk) => ({ gateway: g, chunk })));
  // Interleave gateways so each one's messages are spread too.
  messages.sort((a, b) => a.gateway.chunks.indexOf(a.chunk) - b.gateway.chunks.indexOf(b.chunk));
  let periodStart = performance.now();
  let sent = 0;
  ticker = setInterval(() => {
    const now = performance.now();
    const due = Math.min(messages.length, Math.floor(((now - periodStart) / publishIntervalMs) * messages.length));
    if (sent < due) maxScheduleLagMs = Math.max(maxScheduleLagMs, ((due - sent) / messages.length) * publishIntervalMs);
    while (sent < due) {
      const { gateway, chunk } = messages[sent++]!;
      publishTelemetry(gateway, chunk);
    }
    if (now - periodStart >= publishIntervalMs) {
      periodStart += publishIntervalMs;
      sent = 0;
    }
  }, 10);
}

function probe(gatewayId: string, unit: string): void {
  const gateway = gateways.find((g) => g.spec.id === gatewayId);
  const meter = gateway?.meters.get(unit);
  if (!gateway || !meter) return;
  meter.energyWh.socket += 1_000; // 1 kWh more than the load explains, within the plausibility limit
  probes.set(`${gatewayId}|${unit}`, performance.now());
  publishTelemetry(gateway, [meter]);
}

async function stopAll(): Promise<void> {
  if (ticker) clearInterval(ticker);
  await Promise.all(
    gateways.map(async (g) => {
      const client = g.client;
      if (!client) return;
      if (client.connected) await client.publishAsync(topic(g.spec.id, 'status'), 'offline', { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync(true).catch(() => undefined);
    }),
  );
}

process.on('message', (raw) => {
  const message = raw as ToGenerator;
  switch (message.type) {
    case 'start': {
      topicPrefix = message.topicPrefix;
      let index = 0;
      gateways = message.gateways.map((spec) => {
        const meters = spec.units.map((unit) => meterOf(unit, index++));
        const chunks: Meter[][] = [];
        for (let i = 0; i < meters.length; i += message.metersPerMessage) chunks.push(meters.slice(i, i + message.metersPerMessage));
        return { spec, meters: new Map(meters.map((m) => [m.unit, m])), chunks, client: undefined };
      });
      void Promise.all(gateways.map((g) => connectGateway(g, message.url))).then(() => {
        send({ type: 'connected', gateways: gateways.length });
        startPublishing(message.publishIntervalMs);
      });
      return;
    }
    case 'probe':
      probe(message.gatewayId, message.unit);
      return;
    case 'broker':
      for (const g of gateways) {
        const old = g.client;
        old?.removeAllListeners('message');
        void old?.endAsync(true).catch(() => undefined);
        void connectGateway(g, message.url);
      }
      return;
    case 'report': {
      send({ type: 'report', messagesPublished, readingsPublished, commandsSeen, acksPublished, gatewaysConnected: gateways.filter((g) => g.client?.connected).length, probeLatenciesMs, maxScheduleLagMs });
      probeLatenciesMs = [];
      maxScheduleLagMs = 0;
      return;
    }
    case 'stop':
      void stopAll().then(() => {
        send({ type: 'stopped' });
        process.disconnect?.();
      });
      return;
  }
});
