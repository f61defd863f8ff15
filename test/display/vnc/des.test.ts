import { describe, it, expect } from 'vitest';
import { desBlock, vncAuthResponse, vncKey } from '../../../src/display/vnc/des.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

describe('DES', () => {
  it('matches the classic FIPS worked example', () => {
    expect(toHex(desBlock(hex('133457799BBCDFF1'), hex('0123456789ABCDEF')))).toBe('85E813540F0AB405');
    expect(toHex(desBlock(hex('133457799BBCDFF1'), hex('85E813540F0AB405'), true))).toBe('0123456789ABCDEF');
  });
  it('matches NIST SP 800-17 / FIPS 81 vectors', () => {
    // FIPS 81 appendix B ECB example: key 0123456789ABCDEF, "Now is t" -> 3FA40E8A984D4815.
    expect(toHex(desBlock(hex('0123456789ABCDEF'), Buffer.from('Now is t')))).toBe('3FA40E8A984D4815');
    // SP 800-17 variable plaintext known answer: key 0101..01, plaintext 8000..00 -> 95F8A5E5DD31D900.
    expect(toHex(desBlock(hex('0101010101010101'), hex('8000000000000000')))).toBe('95F8A5E5DD31D900');
  });
  it('derives the VNC key by reversing the bits of each password byte', () => {
    expect(toHex(vncKey('a'))).toBe('8600000000000000'); // 'a' = 0x61 = 01100001 -> 10000110
    expect(toHex(vncKey('password-is-long'))).toBe(toHex(vncKey('password')));
  });
  it('answers a challenge block by block with the reversed key', () => {
    const ch = hex('00112233445566778899AABBCCDDEEFF');
    const r = vncAuthResponse('secret', ch);
    expect(toHex(r.subarray(0, 8))).toBe(toHex(desBlock(vncKey('secret'), ch.subarray(0, 8))));
    expect(toHex(desBlock(vncKey('secret'), r.subarray(8), true))).toBe('8899AABBCCDDEEFF');
  });
});
