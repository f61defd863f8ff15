/** Test helper: decode a PNG file with Python's standard library, independently of our encoder. */
import { execFileSync } from 'node:child_process';

/** An independent PNG decoder (Python's zlib and binascii): checks every CRC and undoes all five filters. */
export const PY_DECODE = `
import sys, zlib, struct, binascii
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'signature'
p = 8; idat = b''; hdr = None; types = []
while p < len(b):
    n, = struct.unpack('>I', b[p:p+4]); t = b[p+4:p+8]; d = b[p+8:p+8+n]
    crc, = struct.unpack('>I', b[p+8+n:p+12+n])
    assert binascii.crc32(t + d) & 0xffffffff == crc, 'crc ' + t.decode()
    types.append(t.decode())
    if t == b'IHDR': hdr = struct.unpack('>IIBBBBB', d)
    if t == b'IDAT': idat += d
    p += 12 + n
w, h, depth, ctype, _, _, _ = hdr
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat); stride = w * bpp; out = bytearray(); prev = bytearray(stride)
for y in range(h):
    f = raw[y*(stride+1)]; line = bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
    for i in range(stride):
        a = line[i-bpp] if i >= bpp else 0; up = prev[i]; c = prev[i-bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + up) & 255
        elif f == 3: line[i] = (line[i] + (a + up) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(up - c), abs(a - c), abs(a + up - 2*c)
            pr = a if pa <= pb and pa <= pc else (up if pb <= pc else c)
            line[i] = (line[i] + pr) & 255
    out += line; prev = line
print(w, h, depth, ctype, ','.join(types), binascii.hexlify(bytes(out)).decode())
`;

export interface DecodedPng { width: number; height: number; depth: number; colourType: number; chunks: string; rgb: Buffer }

export function decodePngIndependently(file: string): DecodedPng {
  const out = execFileSync('python3', ['-c', PY_DECODE, file], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split(' ');
  return {
    width: Number(out[0]), height: Number(out[1]), depth: Number(out[2]), colourType: Number(out[3]),
    chunks: out[4]!, rgb: Buffer.from(out[5]!, 'hex'),
  };
}
