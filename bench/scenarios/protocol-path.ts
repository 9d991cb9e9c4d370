import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { CampusRuntime } from '../../src/actors/campus-runtime.ts';
import { SimulatedClock } from '../../src/clock.ts';
import type { Config } from '../../src/config.ts';
import type { Database } from '../../src/db/database.ts';
import { loadTopology } from '../../src/db/topology.repository.ts';
import { GatewaySessions } from '../../src/drivers/gateway-sessions.ts';
import { createLogger } from '../../src/logger.ts';
import { gatewayCredentialValid, issueGatewayCredential } from '../../src/services/gateway-credential.service.ts';
import { ModbusGatewayServer } from '../../src/simulator/modbus-gateway-server.ts';
import { MqttGatewayPublisher } from '../../src/simulator/mqtt-gateway-publisher.ts';
import { openBenchDatabase } from '../bench-database.ts';
import { bootRuntime, type BenchRuntime } from '../bench-runtime.ts';
import { round, sleep } from '../stats.ts';
import { seedSyntheticCampus, START_AT, type SyntheticCampus } from '../synthetic-campus.ts';
import { SyntheticGatewayView } from '../synthetic-gateway-view.ts';

export interface ProtocolPathParameters {
  /** Meters behind the one gateway. */
  readonly meters: number;
  /** Measured wall time per protocol (after a one-second warm-up). */
  readonly seconds: number;
}

export interface ProtocolFigures {
  readonly meters: number;
  readonly seconds: number;
  /** campus_readings_handled_total / wall time: frames decoded by the real driver and handled by the meter actors. */
  readonly readingsPerSecond: number;
  readonly eventLoopUtilization: number;
  readonly how: string;
}

export interface ProtocolPathFigures {
  readonly parameters: ProtocolPathParameters;
  readonly modbusTcp: ProtocolFigures;
  readonly mqtt: ProtocolFigures;
}

const GATEWAY_ID = 'GW-001';
/** Telemetry rounds the MQTT publisher may have in flight (published, not yet handled). */
const MQTT_ROUNDS_IN_FLIGHT = 3;

type Drive = (deadline: number) => Promise<void>;
const idle: Drive = (deadline) => sleep(Math.max(0, deadline - performance.now()));

/** Handled readings per second over `seconds`, after a one-second warm-up; `drive` produces the load. */
async function measure(rt: BenchRuntime, seconds: number, drive: Drive): Promise<Pick<ProtocolFigures, 'readingsPerSecond' | 'eventLoopUtilization' | 'seconds'>> {
  await drive(performance.now() + 1000);
  const before = await rt.readingsHandled();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  await drive(started + seconds * 1000);
  const wall = (performance.now() - started) / 1000;
  const handled = (await rt.readingsHandled()) - before;
  return { readingsPerSecond: round(handled / wall), eventLoopUtilization: round(performance.eventLoopUtilization(elu).utilization, 3), seconds: round(wall, 2) };
}

const attachedAll = (meters: number) => async (runtime: CampusRuntime) => (await runtime.gateway(GATEWAY_ID))?.meters === meters;

/** A fresh database holding one gateway of `meters` dormitories, for `run`. */
async function onFreshCampus<T>(config: Config, parameters: ProtocolPathParameters, protocol: 'modbus-tcp' | 'mqtt', run: (db: Kysely<Database>, campus: SyntheticCampus) => Promise<T>): Promise<T> {
  const database = await openBenchDatabase(config.databaseUrl);
  try {
    const shape = { dormitories: parameters.meters, metersPerGateway: parameters.meters, dormitoriesPerBuilding: 500, probeDormitories: 0, protocol, gatewayAddress: 'simulator' };
    return await run(database.db, await seedSyntheticCampus(database.db, shape, new Date(START_AT)));
  } finally {
    await database.close();
  }
}

/** ModbusTcpDriver polling the simulator's ModbusGatewayServer back to back (poll interval 1 ms). */
function modbusTcpPath(config: Config, parameters: ProtocolPathParameters): Promise<ProtocolFigures> {
  return onFreshCampus(config, parameters, 'modbus-tcp', async (db, campus) => {
    const clock = new SimulatedClock(START_AT, 1);
    const server = new ModbusGatewayServer({ gateway: new SyntheticGatewayView(GATEWAY_ID, campus.meters, clock) });
    await server.start();
    const sessions = new GatewaySessions({ clock, log: createLogger({ logLevel: 'warn' }), pollIntervalMs: 1, mqttUrl: undefined, gatewaySecretValid: async () => false });
    try {
      await db.updateTable('gateways').set({ address: `${server.host}:${server.port}` }).execute();
      const rt = await bootRuntime({ db, config, clock, createDriver: (g, l) => sessions.create(g, l), booted: attachedAll(parameters.meters), bootTimeoutMs: 30_000 });
      try {
        const figures = await measure(rt, parameters.seconds, idle);
        return { meters: parameters.meters, ...figures, how: 'one connection, one request at a time, every meter polled back to back (0x03, 56 registers)' };
      } finally {
        await rt.stop();
      }
    } finally {
      await sessions.stop();
      await server.stop();
      clock.dispose();
    }
  });
}

/** Simulator MQTT publisher -> EmbeddedBroker -> MqttGatewayDriver, published as fast as the meters' readings are handled. */
function mqttPath(config: Config, parameters: ProtocolPathParameters): Promise<ProtocolFigures> {
  return onFreshCampus(config, parameters, 'mqtt', async (db, campus) => {
    const clock = new SimulatedClock(START_AT, 1);
    const log = createLogger({ logLevel: 'warn' });
    // The app's own embedded broker: credentials and topic ACLs checked as in production.
    const sessions = new GatewaySessions({ clock, log, pollIntervalMs: 1000, mqttUrl: undefined, mqttTopicPrefix: config.mqttTopicPrefix, gatewaySecretValid: (id, secret) => gatewayCredentialValid(db, id, secret) });
    const url = await sessions.startBroker();
    const issued = await issueGatewayCredential(db, GATEWAY_ID, 'bench', new Date());
    // Its own cadence is never due here: the bench calls publishTelemetry() itself.
    const publisher = new MqttGatewayPublisher({
      view: new SyntheticGatewayView(GATEWAY_ID, campus.meters, clock),
      url,
      clock,
      publishIntervalMs: 3_600_000,
      topicPrefix: config.mqttTopicPrefix,
      credentials: { username: issued.username, password: issued.secret },
    });
    try {
      await sessions.start((await loadTopology(db, [])).gateways);
      const rt = await bootRuntime({ db, config, clock, createDriver: (g, l) => sessions.create(g, l), booted: attachedAll(parameters.meters), bootTimeoutMs: 30_000 });
      try {
        await publisher.start();
        let published = await rt.readingsHandled();
        const drive: Drive = async (deadline) => {
          while (performance.now() < deadline) {
            if ((await rt.readingsHandled()) >= published - MQTT_ROUNDS_IN_FLIGHT * parameters.meters && publisher.publishTelemetry()) published += parameters.meters;
            else await sleep(1);
          }
        };
        const figures = await measure(rt, parameters.seconds, drive);
        return { meters: parameters.meters, ...figures, how: `QoS 1 telemetry, 32 meters a message, at most ${MQTT_ROUNDS_IN_FLIGHT} rounds in flight; broker and publisher in this process` };
      } finally {
        await publisher.stop();
        await rt.stop();
      }
    } finally {
      await sessions.stop();
      clock.dispose();
    }
  });
}

/**
 * One gateway of `meters` campus meters over the real protocol stacks, all in this process,
 * so the figures include the simulator server's, publisher's and broker's CPU: they share
 * the one main thread with the drivers and the actors.
 */
export async function runProtocolPath(config: Config, parameters: ProtocolPathParameters): Promise<ProtocolPathFigures> {
  const modbusTcp = await modbusTcpPath(config, parameters);
  const mqtt = await mqttPath(config, parameters);
  return { parameters, modbusTcp, mqtt };
}
