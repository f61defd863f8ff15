/**
 * `udp` backend: datagrams to host:port, received on localaddr:localport.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { describe } from './file.js';
import { CharBackend } from './types.js';

export class UdpChar implements CharBackend {
  private cb: ((data: Uint8Array) => void) | null = null;
  private constructor(private readonly sock: dgram.Socket, private readonly host: string, private readonly port: number) {
    sock.on('message', (m) => { if (this.cb) this.cb(new Uint8Array(m.buffer, m.byteOffset, m.length)); });
    sock.on('error', () => {});
  }

  static open(host: string, port: number, localAddr: string, localPort: number): Promise<UdpChar> {
    const sock = dgram.createSocket(net.isIPv6(host) || net.isIPv6(localAddr) ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      sock.once('error', (e) => reject(new Error(`Failed to bind socket: ${describe(e)}`)));
      sock.bind({ address: localAddr, port: localPort }, () => resolve(new UdpChar(sock, host, port)));
    });
  }

  get localPort(): number { return this.sock.address().port; }

  write(data: Uint8Array): void { this.sock.send(data, this.port, this.host); }
  onInput(cb: (data: Uint8Array) => void): void { this.cb = cb; }
  close(): Promise<void> { return new Promise((res) => this.sock.close(() => res())); }
}
