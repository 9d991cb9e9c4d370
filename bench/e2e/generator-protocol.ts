/** The messages between the e2e bench (parent) and its load generator (a child process, IPC). */

export interface GeneratorGateway {
  readonly id: string;
  readonly username: string;
  readonly password: string;
  /** Unit addresses of its meters (campus 1-in-3-out). */
  readonly units: readonly string[];
}

export type ToGenerator =
  | {
      readonly type: 'start';
      readonly url: string;
      readonly topicPrefix: string;
      readonly gateways: readonly GeneratorGateway[];
      readonly publishIntervalMs: number;
      readonly metersPerMessage: number;
    }
  /** Publish a 1 kWh jump of this meter now and time the cut command it causes. */
  | { readonly type: 'probe'; readonly gatewayId: string; readonly unit: string }
  /** The broker moved (the server's embedded broker after a restart): reconnect every gateway there. */
  | { readonly type: 'broker'; readonly url: string }
  | { readonly type: 'report' }
  | { readonly type: 'stop' };

export interface GeneratorReport {
  readonly type: 'report';
  readonly messagesPublished: number;
  readonly readingsPublished: number;
  readonly commandsSeen: number;
  readonly acksPublished: number;
  readonly gatewaysConnected: number;
  /** Publish of a probe -> its first cut command seen on the broker, ms, one per probe answered. */
  readonly probeLatenciesMs: readonly number[];
  /** How far behind its schedule the generator ran at worst (ms): above ~100 it could not keep its rate. */
  readonly maxScheduleLagMs: number;
}

export type FromGenerator = { readonly type: 'connected'; readonly gateways: number } | GeneratorReport | { readonly type: 'stopped' };
