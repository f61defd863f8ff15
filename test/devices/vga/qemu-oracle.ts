/**
 * Real-QEMU reference: boot a one-sector program on qemu-system-i386 (with
 * SeaBIOS and its VGA BIOS) that sets a video mode through INT 10h, draws,
 * then copies every VGA register, the DAC and the four 64 KiB planes into
 * RAM. The monitor then saves that RAM (pmemsave) and QEMU's own picture
 * (screendump). Tests load the same state into our VGA and compare pictures.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Layout of the dump at 0x600 (see DUMP_ASM). */
export const DUMP_AT = 0x600;
export const PLANES_DUMP_AT = 0x10000;
export const MARK_AT = 0x9f0;
export const DUMP = { misc: 0, seq: 1, crtc: 6, gfx: 31, attr: 40, pel: 61, dac: 62, vbe: 830, size: 850 } as const;
const PLANES_AT = PLANES_DUMP_AT;
const MARK = MARK_AT;

const DUMP_ASM = `
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov di, 0x600
  mov dx, 0x3cc
  in al, dx
  stosb
  mov dx, 0x3c4
  mov cx, 5
  call idx_dump
  mov dx, 0x3d4
  mov cx, 25
  call idx_dump
  mov dx, 0x3ce
  mov cx, 9
  call idx_dump
  xor bl, bl
att:
  mov dx, 0x3da
  in al, dx
  mov dx, 0x3c0
  mov al, bl
  or al, 0x20
  out dx, al
  inc dx
  in al, dx
  stosb
  inc bl
  cmp bl, 21
  jb att
  mov dx, 0x3da
  in al, dx
  mov dx, 0x3c0
  mov al, 0x20
  out dx, al
  mov dx, 0x3c6
  in al, dx
  stosb
  mov dx, 0x3c7
  xor al, al
  out dx, al
  mov dx, 0x3c9
  mov cx, 768
dac:
  in al, dx
  stosb
  loop dac
  xor bx, bx
vbe:
  mov dx, 0x1ce
  mov ax, bx
  out dx, ax
  inc dx
  in ax, dx
  stosw
  inc bx
  cmp bx, 10
  jb vbe
  ; planes: sequential reads of each plane through A000:0000
  mov dx, 0x3c4
  mov ax, 0x0604
  out dx, ax
  mov dx, 0x3ce
  mov ax, 0x0005
  out dx, ax
  mov ax, 0x0506
  out dx, ax
  xor bl, bl
plane:
  mov dx, 0x3ce
  mov al, 4
  mov ah, bl
  out dx, ax
  mov al, bl
  xor ah, ah
  shl ax, 12
  add ax, 0x1000
  mov es, ax
  mov ax, 0xa000
  mov ds, ax
  xor si, si
  xor di, di
  mov cx, 0x8000
  rep movsw
  xor ax, ax
  mov ds, ax
  inc bl
  cmp bl, 4
  jb plane
  mov dx, 0x3c4
  mov al, 4
  mov ah, [0x605]
  out dx, ax
  mov dx, 0x3ce
  mov al, 4
  mov ah, [0x61f + 4]
  out dx, ax
  mov al, 5
  mov ah, [0x61f + 5]
  out dx, ax
  mov al, 6
  mov ah, [0x61f + 6]
  out dx, ax
  mov word [${MARK}], 0xaa55
hang:
  hlt
  jmp hang
idx_dump:
  xor bl, bl
.l:
  mov al, bl
  out dx, al
  inc dx
  in al, dx
  dec dx
  stosb
  inc bl
  dec cx
  jnz .l
  ret
`;

/** Assemble a boot floppy: set BIOS mode `mode`, run `draw`, hide the cursor, dump. */
export function bootImage(dir: string, mode: number, draw: string): string {
  const src = `bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov ax, 0x${mode.toString(16)}
  int 0x10
  mov ah, 1
  mov cx, 0x2000
  int 0x10
${draw}
${DUMP_ASM}
times 510-($-$$) db 0
dw 0xaa55
`;
  const asm = join(dir, 'boot.asm'), bin = join(dir, 'boot.bin'), img = join(dir, 'floppy.img');
  writeFileSync(asm, src);
  execFileSync('nasm', ['-f', 'bin', '-o', bin, asm]);
  const floppy = Buffer.alloc(1474560);
  readFileSync(bin).copy(floppy);
  writeFileSync(img, floppy);
  return img;
}

export interface QemuCapture {
  regs: Uint8Array;
  planes: Uint8Array;
  ppm: Buffer;
  /** QEMU's `screendump -f png` of the same screen. */
  png: Buffer;
}

/** Boot the image on real QEMU and capture registers, planes and QEMU's screendump. */
export async function captureOnQemu(mode: number, draw: string, timeoutMs = 30_000, machine = 'pc'): Promise<QemuCapture> {
  const dir = mkdtempSync(join(tmpdir(), 'vga-oracle-'));
  try {
    const img = bootImage(dir, mode, draw);
    const qemu = spawn('qemu-system-i386', [
      '-display', 'none', '-nodefaults', '-vga', 'std', '-M', machine, '-m', '32',
      '-drive', `file=${img},format=raw,if=floppy`, '-boot', 'a', '-monitor', 'stdio', '-no-reboot',
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    qemu.stdout.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    const exited = new Promise<void>((res) => qemu.on('exit', () => res()));
    const send = (cmd: string): void => { qemu.stdin.write(cmd + '\n'); };
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        if (Date.now() > deadline) throw new Error(`QEMU program did not finish; monitor said:\n${out.slice(-2000)}`);
        out = '';
        send(`xp /1xh ${MARK}`);
        await new Promise((r) => setTimeout(r, 300));
        if (/9f0:\s*0xaa55/i.test(out)) break;
      }
      const ppm = join(dir, 'qemu.ppm'), regs = join(dir, 'regs.bin'), planes = join(dir, 'planes.bin');
      const png = join(dir, 'qemu.png');
      send(`screendump ${ppm}`);
      send(`screendump ${png} -f png`);
      send(`pmemsave 0x600 ${DUMP.size} "${regs}"`);
      send(`pmemsave ${PLANES_AT} 0x40000 "${planes}"`);
      send('quit');
      await exited;
      if (!existsSync(regs) || !existsSync(planes) || !existsSync(ppm) || !existsSync(png)) throw new Error(`QEMU monitor did not save the state:\n${out.replace(/\x1b\[[0-9]*[A-Z]/g, '').slice(-3000)}`);
      return { regs: readFileSync(regs), planes: readFileSync(planes), ppm: readFileSync(ppm), png: readFileSync(png) };
    } finally {
      if (qemu.exitCode === null) qemu.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
