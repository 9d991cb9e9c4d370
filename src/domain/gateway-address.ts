/**
 * Where a gateway is reached, checked when it is written (POST /api/gateways) and again when
 * its driver is built, so a bad row is refused with a message instead of hanging a start.
 *
 * - `modbus-tcp`: `host:port`, host a DNS name, an IPv4 address or a bracketed IPv6 address,
 *   port 1..65535.
 * - `mqtt`: the gateway's name on the broker, one topic level (docs/mqtt.md).
 * - `simulator` (either protocol): the in-process simulator's endpoint; only while it runs.
 */
export const SIMULATOR_GATEWAY_ADDRESS = 'simulator';

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_BRACKETED = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
const MQTT_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function parseModbusTcpAddress(address: string): { host: string; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (IPV6_BRACKETED.test(host)) return { host: host.slice(1, -1), port };
  if (!HOST_NAME.test(host)) return undefined;
  return { host, port };
}

/** Why `address` cannot be used for a gateway of `protocol`, or undefined when it can. */
export function gatewayAddressProblem(protocol: 'modbus-tcp' | 'mqtt', address: string, simulatorRunning: boolean): string | undefined {
  if (address === SIMULATOR_GATEWAY_ADDRESS) {
    return simulatorRunning ? undefined : 'address "simulator" needs the in-process simulator (serve --simulate)';
  }
  if (protocol === 'modbus-tcp') return parseModbusTcpAddress(address) ? undefined : `a modbus-tcp address is host:port (port 1..65535), got ${JSON.stringify(address.slice(0, 80))}`;
  return MQTT_NAME.test(address) ? undefined : `an mqtt address is the gateway's name on the broker: 1..64 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(address.slice(0, 80))}`;
}
