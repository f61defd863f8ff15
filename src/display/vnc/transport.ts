/**
 * The byte pipe an RFB session talks through: a plain TCP/Unix socket, or
 * WebSocket framing on top of one (see websocket.ts).
 */
import type { Socket } from 'node:net';

export interface Transport {
  /** Queue bytes; false when the socket's buffer is over its high-water mark. */
  write(b: Uint8Array): boolean;
  /** Bytes queued in the socket and not yet handed to the kernel. */
  readonly pending: number;
  onData(cb: (b: Buffer) => void): void;
  onDrain(cb: () => void): void;
  onClose(cb: () => void): void;
  close(): void;
  readonly peer: string;
  /** The peer as QEMU's `info vnc` shows it, e.g. "127.0.0.1:34322 (ipv4)". */
  readonly peerInfo: string;
}

export function describePeer(s: { remoteAddress?: string; remotePort?: number; remoteFamily?: string }): string {
  if (!s.remoteAddress) return 'unix';
  return `${s.remoteAddress}:${s.remotePort ?? 0} (${s.remoteFamily === 'IPv6' ? 'ipv6' : 'ipv4'})`;
}

export class SocketTransport implements Transport {
  constructor(private readonly s: Socket) {
    s.setNoDelay?.(true);
    s.on('error', () => { /* reported through close */ });
  }
  write(b: Uint8Array): boolean { return this.s.destroyed ? false : this.s.write(b); }
  get pending(): number { return this.s.writableLength; }
  onData(cb: (b: Buffer) => void): void { this.s.on('data', cb); }
  onDrain(cb: () => void): void { this.s.on('drain', cb); }
  onClose(cb: () => void): void { this.s.on('close', cb); }
  close(): void { this.s.destroy(); }
  get peer(): string { return this.s.remoteAddress ? `${this.s.remoteAddress}:${this.s.remotePort}` : 'unix'; }
  get peerInfo(): string { return describePeer(this.s); }
}
