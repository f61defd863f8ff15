/**
 * Our rendering of the exact register and memory state that SeaBIOS's VGA
 * BIOS and a small program produced on real QEMU must equal QEMU's own
 * screendump, byte for byte (PPM).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePpm, encodeScreendump } from '../../../src/display/screendump.js';
import { decodePngIndependently } from '../../display/png-decode.js';
import { getTextScreen } from '../../../src/devices/vga/text.js';
import { captureOnQemu, DUMP, type QemuCapture } from './qemu-oracle.js';
import { in8, out8, rig, type Rig } from './helpers.js';

/** Load captured registers and planes through the I/O and memory buses. */
function replay(t: Rig, c: QemuCapture): void {
  const { io, mem } = t;
  const r = c.regs;
  out8(io, 0x3c2, r[DUMP.misc]!);
  const seqAt = (i: number): number => r[DUMP.seq + i]!;
  const gfxAt = (i: number): number => r[DUMP.gfx + i]!;
  // planes first, with plain sequential writes to one plane at a time
  out8(io, 0x3c4, 4); out8(io, 0x3c5, 0x06);
  for (const [i, v] of [[0, 0], [1, 0], [3, 0], [5, 0], [6, 0x05], [8, 0xff]] as const) { out8(io, 0x3ce, i); out8(io, 0x3cf, v); }
  for (let p = 0; p < 4; p++) {
    out8(io, 0x3c4, 2); out8(io, 0x3c5, 1 << p);
    const plane = c.planes.subarray(p * 0x10000, (p + 1) * 0x10000);
    for (let i = 0; i < 0x10000; i++) mem.write8(0xa0000 + i, plane[i]!);
  }
  for (let i = 1; i < 5; i++) { out8(io, 0x3c4, i); out8(io, 0x3c5, seqAt(i)); }
  const crt = (r[DUMP.misc]! & 1) !== 0 ? 0x3d4 : 0x3b4;
  out8(io, crt, 0x11); out8(io, crt + 1, 0);
  for (let i = 0; i < 25; i++) { out8(io, crt, i); out8(io, crt + 1, r[DUMP.crtc + i]!); }
  for (let i = 0; i < 9; i++) { out8(io, 0x3ce, i); out8(io, 0x3cf, gfxAt(i)); }
  in8(io, crt + 6);
  for (let i = 0; i < 21; i++) { out8(io, 0x3c0, i); out8(io, 0x3c0, r[DUMP.attr + i]!); }
  out8(io, 0x3c0, 0x20);
  // QEMU implements no PEL mask (reads 0, applies none): keep ours at its 0xFF default.
  out8(io, 0x3c8, 0);
  for (let i = 0; i < 768; i++) out8(io, 0x3c9, r[DUMP.dac + i]!);
}

function differingPixels(a: Buffer, b: Buffer): number {
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i += 3) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
  return n;
}

function distinctColours(ppm: Buffer): number {
  const start = ppm.length - Math.floor((ppm.length - 15) / 3) * 3;
  const seen = new Set<number>();
  for (let i = start; i + 2 < ppm.length; i += 3) seen.add((ppm[i]! << 16) | (ppm[i + 1]! << 8) | ppm[i + 2]!);
  return seen.size;
}

let lastPng: Buffer | null = null;

async function compare(mode: number, draw: string, minColours: number): Promise<Rig> {
  const c = await captureOnQemu(mode, draw);
  lastPng = c.png;
  expect(distinctColours(c.ppm)).toBeGreaterThanOrEqual(minColours); // the picture is not trivially blank
  const t = rig();
  replay(t, c);
  t.r.update();
  const ours = encodePpm(t.r);
  const header = c.ppm.subarray(0, 20).toString('latin1').split('\n').slice(0, 2).join(' ');
  expect(`P6 ${t.r.width} ${t.r.height}`).toBe(header);
  expect(differingPixels(ours, c.ppm)).toBe(0);
  expect(ours.equals(c.ppm)).toBe(true);
  return t;
}

const TEXT_DRAW = `
  mov ax, 0xb800
  mov es, ax
  xor di, di
  xor bx, bx
t:
  mov ax, bx
  shr ax, 3
  and al, 0x7f
  mov ah, al
  mov al, bl
  cmp al, 0xb0
  jb t_ok
  cmp al, 0xbf
  ja t_ok
  mov al, 0x2e
t_ok:
  stosw
  inc bx
  cmp bx, 2000
  jb t
`;

const PLANAR_DRAW = (bytes: number, perRow: number): string => `
  mov dx, 0x3ce
  mov ax, 0x0205
  out dx, ax
  mov ax, 0xa000
  mov es, ax
  xor di, di
p:
  mov ax, di
  xor dx, dx
  mov bx, ${perRow}
  div bx
  add ax, dx
  and al, 15
  mov [es:di], al
  inc di
  cmp di, ${bytes}
  jb p
  mov dx, 0x3ce
  mov ax, 0x3c08
  out dx, ax
  xor di, di
q:
  mov al, [es:di]
  mov byte [es:di], 14
  inc di
  cmp di, ${bytes / 4}
  jb q
  mov ax, 0xff08
  out dx, ax
  mov ax, 0x0005
  out dx, ax
`;

const CGA_DRAW = `
  mov ax, 0xb800
  mov es, ax
  xor di, di
c:
  mov ax, di
  xor al, ah
  add al, 0x35
  stosb
  cmp di, 0x4000
  jb c
`;

const VBE_DRAW = `
  mov dx, 0x1ce
  mov si, vbe_regs
vset:
  lodsw
  out dx, ax
  inc dx
  lodsw
  out dx, ax
  dec dx
  cmp si, vbe_end
  jb vset
  xor bx, bx
bank:
  mov dx, 0x1ce
  mov ax, 5
  out dx, ax
  inc dx
  mov ax, bx
  out dx, ax
  mov ax, 0xa000
  mov es, ax
  xor di, di
w:
  movzx eax, di
  shl eax, 8
  or al, bl
  stosd
  test di, di
  jnz w
  inc bx
  cmp bx, 30
  jb bank
  jmp vdone
vbe_regs: dw 4, 0, 1, 800, 2, 600, 3, 32, 4, 0x41
vbe_end:
vdone:
`;

describe('rendering matches real QEMU 7.2 screendumps of the same VGA state', () => {
  it('mode 3 text with the VGA BIOS font, all attributes without blink, 9-dot line graphics', async () => {
    const t = await compare(0x03, TEXT_DRAW, 16);
    // PNG: QEMU's and ours decode (independently) to the same RGB pixels
    const dir = mkdtempSync(join(tmpdir(), 'vga-png-'));
    try {
      writeFileSync(join(dir, 'qemu.png'), lastPng!);
      writeFileSync(join(dir, 'ours.png'), encodeScreendump(t.r, 'png'));
      const q = decodePngIndependently(join(dir, 'qemu.png')), o = decodePngIndependently(join(dir, 'ours.png'));
      expect([o.width, o.height, o.depth, o.colourType]).toEqual([q.width, q.height, q.depth, q.colourType]);
      expect(o.rgb.equals(q.rgb)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const s = getTextScreen(t.vga);
    expect([s.cols, s.rows]).toEqual([80, 25]);
    expect(s.chars[0]!.slice(0x41, 0x44)).toBe('ABC');
  });

  it('mode 13h (chain-4, 256 colours) with a reprogrammed DAC entry', async () => {
    await compare(0x13, `
  mov ax, 0xa000
  mov es, ax
  xor di, di
px:
  mov ax, di
  add al, ah
  stosb
  cmp di, 64000
  jb px
  mov dx, 0x3c8
  mov al, 7
  out dx, al
  inc dx
  mov al, 10
  out dx, al
  mov al, 20
  out dx, al
  mov al, 63
  out dx, al
`, 200);
  });

  it('mode 12h (640x480 planar 16 colours, write mode 2 and latched bit-mask writes)', async () => {
    await compare(0x12, PLANAR_DRAW(38400, 80), 16);
  });

  it('mode 0Dh (320x200 planar 16 colours, doubled)', async () => {
    await compare(0x0d, PLANAR_DRAW(8000, 40), 16);
  });

  it('mode 4 (CGA 320x200 4 colours, interleaved banks)', async () => {
    await compare(0x04, CGA_DRAW, 4);
  });

  it('Bochs VBE 800x600x32 written through the banked 64 KiB window', async () => {
    const c = await captureOnQemu(0x03, VBE_DRAW);
    expect(distinctColours(c.ppm)).toBeGreaterThanOrEqual(1000);
    const t = rig();
    const { io, mem } = t;
    const dispi = (i: number, v: number): void => { io.write(0x1ce, 2, i); io.write(0x1cf, 2, v); };
    in8(io, 0x3da); out8(io, 0x3c0, 0x20); // display on, as the BIOS's mode 3 left it
    dispi(4, 0); dispi(1, 800); dispi(2, 600); dispi(3, 32); dispi(4, 0x41);
    for (let bank = 0; bank < 30; bank++) {
      dispi(5, bank);
      for (let di = 0; di < 0x10000; di += 4) mem.write32(0xa0000 + di, ((di << 8) | bank) >>> 0);
    }
    t.r.update();
    const ours = encodePpm(t.r);
    expect(differingPixels(ours, c.ppm)).toBe(0);
    expect(ours.equals(c.ppm)).toBe(true);
    // the VBE registers QEMU reported after the mode set agree with ours
    const vbe = Array.from({ length: 10 }, (_, i) => c.regs[DUMP.vbe + 2 * i]! | (c.regs[DUMP.vbe + 2 * i + 1]! << 8));
    const mine = Array.from({ length: 10 }, (_, i) => { io.write(0x1ce, 2, i); return io.read(0x1cf, 2); });
    expect(mine).toEqual(vbe);
  });

  it('mode 6 (CGA 640x200 2 colours)', async () => {
    await compare(0x06, CGA_DRAW, 2);
  });
});
