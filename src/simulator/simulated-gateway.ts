import type { MeterProfileName } from '../drivers/gateway-driver.ts';
import type { MeterReading, SupplyTarget } from '../domain/reading.ts';

/**
 * The contract between the simulated campus (physics: loads, registers, relays) and the
 * protocol front-ends that expose it (the Modbus TCP server, the MQTT publisher). The
 * front-ends encode `read()` with the meter's register map and turn writes into
 * `setSupply`; they never reach into the load model.
 */
export interface SimulatedMeterView {
  readonly unitAddress: string;
  readonly profile: MeterProfileName;
  /** The meter's registers now, on the simulator's clock. */
  read(): MeterReading;
  /** Closes (`true`) or opens a relay / valve. An open circuit draws nothing. */
  setSupply(target: SupplyTarget, closed: boolean): void;
}

export interface SimulatedGatewayView {
  readonly gatewayId: string;
  /** False while the simulator has the gateway dropped: it neither answers nor publishes. */
  readonly online: boolean;
  meters(): readonly SimulatedMeterView[];
  meter(unitAddress: string): SimulatedMeterView | undefined;
  /** Called with the new value whenever `online` changes. Returns an unsubscribe function. */
  onOnlineChange(listener: (online: boolean) => void): () => void;
}
