/**
 * Watches the raw bytes of a Modbus TCP connection for MBAP headers that cannot be valid.
 * modbus-serial trusts the header's length field: garbage announcing 16 kB would make it
 * wait forever while every later reply is swallowed. Seeing the same bytes, this guard
 * reports the first impossible header so the driver can count it and drop the connection
 * (the only way to find frame boundaries again).
 */
const MBAP_HEADER_BYTES = 7; // transaction id, protocol id, length, unit id
const MIN_LENGTH = 2; // unit id + function code
const MAX_LENGTH = 254; // unit id + largest PDU (253)

export class ModbusFrameGuard {
  private pending: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(private readonly onMalformed: (reason: string) => void) {}

  /** Feed every chunk the socket receives, in order. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= MBAP_HEADER_BYTES) {
      const protocolId = this.pending.readUInt16BE(2);
      const length = this.pending.readUInt16BE(4);
      if (protocolId !== 0 || length < MIN_LENGTH || length > MAX_LENGTH) {
        this.failed = true;
        this.pending = Buffer.alloc(0);
        this.onMalformed(`malformed MBAP header (protocol ${protocolId}, length ${length})`);
        return;
      }
      if (this.pending.length < 6 + length) return;
      this.pending = this.pending.subarray(6 + length);
    }
  }
}
