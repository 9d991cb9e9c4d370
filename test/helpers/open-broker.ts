import type { BrokerAccess } from '../../src/drivers/broker-access.ts';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from '../../src/drivers/embedded-broker.ts';

/**
 * A broker that lets anyone in and everywhere: the stand-in for CI's anonymous Mosquitto when
 * MQTT_URL is unset, for tests of drivers and the simulator that are not about access.
 * The app's own embedded broker never runs like this (src/drivers/gateway-sessions.ts).
 */
export const ANONYMOUS_BROKER_ACCESS: BrokerAccess = Object.freeze({
  authenticate: () => Promise.resolve({ kind: 'server' } as const),
  mayPublish: () => true,
  maySubscribe: () => true,
});

export function anonymousBroker(options: Omit<EmbeddedBrokerOptions, 'access'> = {}): EmbeddedBroker {
  return new EmbeddedBroker({ ...options, access: ANONYMOUS_BROKER_ACCESS });
}
