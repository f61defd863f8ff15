/**
 * Runs one port I/O script on real QEMU 7.2 (qemu-system-i386, SeaBIOS,
 * booted from a floppy) and on our ISA devices, and compares what was read.
 * Needs qemu-system-i386 and nasm (installed on CI).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine } from '../../../src/bus/irq.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { NullChar } from '../../../src/chardev/types.js';
import { PicPair } from '../../../src/devices/isa/pic.js';
import { Pit, Port61 } from '../../../src/devices/isa/pit.js';
import { fillPcCmos, Rtc, rtcBaseMs } from '../../../src/devices/isa/rtc.js';
import { Serial16550 } from '../../../src/devices/isa/serial.js';
import { I8042 } from '../../../src/devices/isa/i8042.js';
import { Dma8237 } from '../../../src/devices/isa/dma.js';
import { Fdc82077, FloppyBlock } from '../../../src/devices/isa/fdc.js';
import { FwCfg } from '../../../src/devices/isa/fw-cfg.js';
import { Port92 } from '../../../src/devices/isa/port92.js';
import { PostPort } from '../../../src/devices/isa/post.js';
import { DebugCon } from '../../../src/devices/isa/debugcon.js';
import { ParallelPort } from '../../../src/devices/isa/parallel.js';
import { MemoryChar } from '../../../src/chardev/types.js';
import { replay, Script } from './oracle/script.js';

const SECTOR = 512;
const dataByte = (lba: number, i: number) => (lba * 13 + i * 3 + 7) & 0xff;

function buildScript(): Script {
  const s = new Script();
  const fdcCmd = (...b: number[]) => { for (const v of b) { s.wait(0x3f4, 0xc0, 0x80, 'fdc rqm'); s.out8(0x3f5, v); } };
  const fdcRes = (n: number, label: string) => { for (let k = 0; k < n; k++) { s.wait(0x3f4, 0xc0, 0xc0, `${label} ready`); s.in8(0x3f5, `${label} ${k}`); } };
  const kbdRead = (label: string, n = 1) => { for (let k = 0; k < n; k++) { s.wait(0x64, 0x01, 0x01, `${label} obf`); s.in8(0x60, `${label} ${k}`); } };
  const kbcWaitIn = () => s.wait(0x64, 0x02, 0x00, 'ibf clear');

  // Quiet PIT channel 0 (mode 0, long count: OUT stays low) so IRQ0 does not disturb the PIC checks.
  s.out8(0x43, 0x30).out8(0x40, 0xff).out8(0x40, 0xff);

  // --- 8259A
  s.out8(0x20, 0x11).out8(0x21, 0x08).out8(0x21, 0x04).out8(0x21, 0x01);
  s.out8(0xa0, 0x11).out8(0xa1, 0x70).out8(0xa1, 0x02).out8(0xa1, 0x01);
  s.out8(0x21, 0xef).out8(0xa1, 0xff);
  s.in8(0x21, 'pic master imr').in8(0xa1, 'pic slave imr');
  s.out8(0x4d0, 0xff).out8(0x4d1, 0xff).in8(0x4d0, 'elcr0').in8(0x4d1, 'elcr1').out8(0x4d0, 0).out8(0x4d1, 0);

  // --- 16550A on COM1, raising IRQ4 through THRE
  s.out8(0x3f9, 0x00).out8(0x3fb, 0x03).out8(0x3fc, 0x00).out8(0x3fa, 0x00);
  s.in8(0x3fa, 'uart iir idle').in8(0x3fd, 'uart lsr').in8(0x3fe, 'uart msr', 0xf0).in8(0x3fb, 'uart lcr');
  s.out8(0x3f9, 0x02);
  s.out8(0x20, 0x0a).in8(0x20, 'pic irr has irq4', 0x10);
  s.in8(0x3fa, 'uart iir thre').in8(0x3fa, 'uart iir after read');
  s.out8(0x20, 0x0c).in8(0x20, 'pic poll');
  s.out8(0x20, 0x0b).in8(0x20, 'pic isr after poll');
  s.out8(0x20, 0x20).in8(0x20, 'pic isr after eoi');
  s.out8(0x3ff, 0x5a).in8(0x3ff, 'uart scratch');
  s.out8(0x3fb, 0x83).out8(0x3f8, 0x01).out8(0x3f9, 0x00).in8(0x3f8, 'uart dll').in8(0x3f9, 'uart dlm').out8(0x3fb, 0x03);
  s.out8(0x3fa, 0xc7).in8(0x3fa, 'uart iir fifo thre').in8(0x3fa, 'uart iir fifo idle');
  s.out8(0x3fc, 0x10).out8(0x3f8, 0x41).in8(0x3fd, 'uart lsr loop').in8(0x3f8, 'uart rbr loop').in8(0x3fd, 'uart lsr empty');
  s.out8(0x3fc, 0x1f).in8(0x3fe, 'uart msr loop', 0xf0).out8(0x3fc, 0x00);
  s.out8(0x3f9, 0x00).out8(0x3fa, 0x00);

  // --- i8042: quiesce, self-test, command byte, keyboard and mouse commands
  s.out8(0x64, 0xad).out8(0x64, 0xa7);
  for (let k = 0; k < 4; k++) s.in8(0x60, null);
  s.wait(0x64, 0x01, 0x00, 'kbc drained');
  s.out8(0x64, 0xaa); kbdRead('kbc self-test');
  s.in8(0x64, 'kbc status sys', 0x04);
  s.out8(0x64, 0x60); kbcWaitIn(); s.out8(0x60, 0x45);
  s.out8(0x64, 0x20); kbdRead('kbc command byte');
  s.out8(0x60, 0xff); kbdRead('kbd reset', 2);
  s.out8(0x60, 0xf2); kbdRead('kbd identify', 3);
  s.out8(0x60, 0xee); kbdRead('kbd echo');
  s.out8(0x60, 0xf0); kbdRead('kbd f0 ack'); s.out8(0x60, 0x00); kbdRead('kbd get set', 2);
  s.out8(0x60, 0xed); kbdRead('kbd leds ack'); s.out8(0x60, 0x02); kbdRead('kbd leds data ack');
  s.out8(0x60, 0xf4); kbdRead('kbd enable');
  s.out8(0x64, 0xa8);
  s.out8(0x64, 0xd4).out8(0x60, 0xff);
  s.wait(0x64, 0x01, 0x01, 'mouse obf'); s.in8(0x64, 'kbc status aux', 0x21);
  kbdRead('mouse reset', 3);
  s.out8(0x64, 0xd4).out8(0x60, 0xf2); kbdRead('mouse id', 2);
  for (const r of [200, 100, 80]) { s.out8(0x64, 0xd4).out8(0x60, 0xf3); kbdRead('mouse rate ack'); s.out8(0x64, 0xd4).out8(0x60, r); kbdRead('mouse rate data ack'); }
  s.out8(0x64, 0xd4).out8(0x60, 0xf2); kbdRead('mouse id after knock', 2);
  s.out8(0x64, 0xd4).out8(0x60, 0xe9); kbdRead('mouse status', 4);
  s.out8(0x64, 0xd0); kbdRead('kbc output port a20/reset');
  s.log[s.log.length - 1]!.mask = 0x03;
  s.out8(0x64, 0xd2); kbcWaitIn(); s.out8(0x60, 0x99);
  s.wait(0x64, 0x01, 0x01, 'd2 obf'); s.in8(0x64, 'kbc status d2', 0x21); s.in8(0x60, 'kbc d2 byte');
  s.out8(0x64, 0xd3); kbcWaitIn(); s.out8(0x60, 0x98);
  s.wait(0x64, 0x01, 0x01, 'd3 obf'); s.in8(0x64, 'kbc status d3', 0x21); s.in8(0x60, 'kbc d3 byte');

  // --- RTC / CMOS
  s.out8(0x70, 0x0a).in8(0x71, 'rtc reg a', 0x7f);
  s.out8(0x70, 0x0b).in8(0x71, 'rtc reg b');
  s.out8(0x70, 0x0d).in8(0x71, 'rtc reg d');
  s.out8(0x70, 0x8a).in8(0x71, 'rtc reg a via nmi-masked index', 0x7f);
  for (let i = 0x10; i < 0x80; i++) {
    if (i === 0x32) continue;
    s.out8(0x70, i).in8(0x71, `cmos 0x${i.toString(16)}`);
  }
  s.out8(0x70, 0x32).in8(0x71, 'cmos century');
  // -rtc base=2020-01-01T00:00:00 (a Wednesday); the boot takes well under a minute
  for (const [i, n] of [[9, 'year'], [8, 'month'], [7, 'day'], [6, 'weekday'], [4, 'hour'], [2, 'minute']] as const) s.out8(0x70, i).in8(0x71, `rtc ${n} bcd`);
  s.out8(0x70, 0x0b).out8(0x71, 0x06);
  s.out8(0x70, 0x09).in8(0x71, 'rtc year binary').out8(0x70, 0x32).in8(0x71, 'rtc century binary');
  s.out8(0x70, 0x0b).out8(0x71, 0x04);
  s.out8(0x70, 0x04).in8(0x71, 'rtc hour 12h binary');
  s.out8(0x70, 0x0b).out8(0x71, 0x00);
  s.out8(0x70, 0x04).in8(0x71, 'rtc hour 12h bcd');
  s.out8(0x70, 0x0b).out8(0x71, 0x02);
  s.out8(0x70, 0x0c).in8(0x71, null);
  s.wait(0x71, 0x40, 0x40, 'rtc periodic flag without PIE');
  // The MC146818 datasheet sets PF whatever PIE says; QEMU only runs the periodic timer with PIE.
  s.log[s.log.length - 1]!.mask = 0;
  s.out8(0x70, 0x0a);
  s.wait(0x71, 0x80, 0x80, 'rtc uip set').wait(0x71, 0x80, 0x00, 'rtc uip clear');
  // Whether a polling loop catches the 244 us UIP window depends on host speed: logged, not compared.
  s.log[s.log.length - 2]!.mask = 0; s.log[s.log.length - 1]!.mask = 0;

  // --- 8254 channel 2 and port 0x61
  s.out8(0x61, 0x00);
  s.out8(0x43, 0xb0).out8(0x42, 0x00).out8(0x42, 0x01);
  s.out8(0x43, 0xe8).in8(0x42, 'pit ch2 status mode 0 before gate', 0xbf);
  s.out8(0x61, 0x01);
  s.wait(0x61, 0x20, 0x20, 'pit out2 high');
  s.in8(0x61, 'port61 low bits', 0x0f);
  s.out8(0x43, 0xe8).in8(0x42, 'pit ch2 status after terminal count', 0xbf);
  s.wait(0x61, 0x10, 0x10, 'refresh high').wait(0x61, 0x10, 0x00, 'refresh low');
  s.out8(0x43, 0xb6).out8(0x42, 0x00).out8(0x42, 0x10);
  s.out8(0x43, 0xe8).in8(0x42, 'pit ch2 status mode 3', 0xbf);
  s.out8(0x61, 0x00);

  // --- 8237A: program channel 2 for a floppy read into 0xc000..0xc5ff (3 sectors; the script lives at 0x7e00-0x9dff)
  s.out8(0x0a, 0x06).out8(0x0c, 0).out8(0x0b, 0x46);
  s.out8(0x04, 0x00).out8(0x04, 0xc0).out8(0x81, 0x00).out8(0x05, 0xff).out8(0x05, 0x05);
  s.out8(0x0c, 0).in8(0x04, 'dma2 addr lo').in8(0x04, 'dma2 addr hi').in8(0x05, 'dma2 count lo').in8(0x05, 'dma2 count hi');
  s.out8(0x83, 0x5a).in8(0x83, 'dma page 1');
  s.out8(0x0a, 0x02);

  // --- 82077AA (data rate for the 1.44M medium first, as SeaBIOS leaves it)
  s.out8(0x3f7, 0x00);
  s.out8(0x3f2, 0x08).out8(0x3f2, 0x1c);
  s.wait(0x3f4, 0xc0, 0x80, 'fdc ready after reset');
  s.in8(0x3f4, 'fdc msr idle');
  for (let k = 0; k < 4; k++) { fdcCmd(0x08); fdcRes(2, `fdc reset sense ${k}`); }
  fdcCmd(0x08); fdcRes(1, 'fdc sense nothing pending');
  fdcCmd(0x10); fdcRes(1, 'fdc version');
  fdcCmd(0x03, 0xaf, 0x02);
  fdcCmd(0x13, 0x00, 0x57, 0x05);
  fdcCmd(0x14); fdcRes(1, 'fdc unlock');
  fdcCmd(0x94); fdcRes(1, 'fdc lock');
  fdcCmd(0x0e); fdcRes(10, 'fdc dumpreg');
  // QEMU returns only SRT in byte 4 and the DOR DMA gate in place of ND in byte 5; we follow the
  // datasheet (SRT|HUT, HLT|ND), so those two are not compared.
  for (const k of [4, 5]) s.log[s.log.length - (19 - 2 * k)]!.mask = 0;
  fdcCmd(0x14); fdcRes(1, 'fdc unlock again');
  fdcCmd(0x07, 0x00); fdcCmd(0x08); fdcRes(2, 'fdc recal sense');
  fdcCmd(0x04, 0x00); fdcRes(1, 'fdc st3 at track 0');
  fdcCmd(0x0f, 0x00, 0x01); fdcCmd(0x08); fdcRes(2, 'fdc seek sense');
  s.in8(0x3f7, 'fdc dir after seek', 0x80);
  fdcCmd(0x04, 0x04); fdcRes(1, 'fdc st3 head 1 track 1');
  fdcCmd(0xe6, 0x00, 1, 0, 17, 2, 18, 0x1b, 0xff); fdcRes(7, 'fdc read mt result');
  s.dump(0xc000, 16, 'fdc read sector 1/0/17').dump(0xc200, 16, 'fdc read sector 1/0/18').dump(0xc400, 16, 'fdc read sector 1/1/1');
  s.out8(0x0c, 0).in8(0x04, 'dma2 addr lo after').in8(0x04, 'dma2 addr hi after');
  s.out8(0x08, 0).in8(0x08, 'dma status tc', 0x0f);
  fdcCmd(0x4a, 0x04); fdcRes(7, 'fdc read id');
  s.log[s.log.length - 3]!.mask = 0; // R: whichever ID passes under the head (rotational position)
  // write the boot sector (memory 0x7c00) to 2/0/1 then read it back into 0xa000
  fdcCmd(0x0f, 0x00, 0x02); fdcCmd(0x08); fdcRes(2, 'fdc seek 2 sense');
  s.out8(0x0a, 0x06).out8(0x0c, 0).out8(0x0b, 0x4a);
  s.out8(0x04, 0x00).out8(0x04, 0x7c).out8(0x81, 0x00).out8(0x05, 0xff).out8(0x05, 0x01).out8(0x0a, 0x02);
  fdcCmd(0xc5, 0x00, 2, 0, 1, 2, 18, 0x1b, 0xff); fdcRes(7, 'fdc write result');
  s.out8(0x0a, 0x06).out8(0x0c, 0).out8(0x0b, 0x46);
  s.out8(0x04, 0x00).out8(0x04, 0xa0).out8(0x81, 0x00).out8(0x05, 0xff).out8(0x05, 0x01).out8(0x0a, 0x02);
  fdcCmd(0xe6, 0x00, 2, 0, 1, 2, 18, 0x1b, 0xff); fdcRes(7, 'fdc read back result');
  s.dump(0xa000, 16, 'fdc read back start').dump(0xa1f0, 16, 'fdc read back end');
  // FORMAT cylinder 3 head 1 (IDs from memory at 0xa400) with 0xF6, then read a sector of it back
  fdcCmd(0x0f, 0x04, 0x03); fdcCmd(0x08); fdcRes(2, 'fdc seek 3 sense');
  for (let k = 0; k < 18; k++) [3, 1, k + 1, 2].forEach((b, j) => s.poke(0xa400 + 4 * k + j, b));
  s.out8(0x0a, 0x06).out8(0x0c, 0).out8(0x0b, 0x4a);
  s.out8(0x04, 0x00).out8(0x04, 0xa4).out8(0x81, 0x00).out8(0x05, 71).out8(0x05, 0).out8(0x0a, 0x02);
  fdcCmd(0x4d, 0x04, 2, 18, 0x54, 0xf6); fdcRes(7, 'fdc format result');
  for (let k = 3; k < 7; k++) s.log[s.log.length - 14 + 2 * k + 1]!.mask = 0; // C/H/R/N are undefined after FORMAT
  s.log[s.log.length - 13]!.mask = 0xfb; // QEMU leaves the head bit out of ST0 here
  s.out8(0x0a, 0x06).out8(0x0c, 0).out8(0x0b, 0x46);
  s.out8(0x04, 0x00).out8(0x04, 0xa0).out8(0x81, 0x00).out8(0x05, 0xff).out8(0x05, 0x01).out8(0x0a, 0x02);
  fdcCmd(0xe6, 0x04, 3, 1, 5, 2, 18, 0x1b, 0xff); fdcRes(7, 'fdc read formatted result');
  // QEMU 7.2 does not write the filler byte on a DMA FORMAT (the sector keeps its old data); the
  // 82077AA does, as ours does (fdc.test.ts checks it), so the data is logged but not compared.
  s.dump(0xa000, 8, 'fdc formatted sector', false).dump(0xa1f8, 8, 'fdc formatted sector end', false);
  fdcCmd(0x46, 0x00, 2, 0, 19, 2, 19, 0x1b, 0xff); fdcRes(7, 'fdc read missing sector');
  // QEMU flags a sector beyond the track with EN (0x80); the 82077AA datasheet says ND (0x04).
  s.log[s.log.length - 11]!.mask = 0;
  // QEMU's ST0 keeps the head of the previous command (1) when the sector is not found; ours uses HDS (0).
  s.log[s.log.length - 13]!.mask = 0xfb;

  // --- fw_cfg
  s.out16(0x510, 0x0000);
  for (let k = 0; k < 4; k++) s.in8(0x511, `fwcfg signature ${k}`);
  s.out16(0x510, 0x0001);
  for (let k = 0; k < 4; k++) s.in8(0x511, `fwcfg id ${k}`);
  for (let k = 0; k < 8; k++) s.in8(0x514 + k, `fwcfg dma signature ${k}`);
  // FWCfgDmaAccess at 0xb000: select key 0 and read 4 bytes to 0xb100
  const dmaStruct = [0, 0, 0, 0x0a, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0xb1, 0x00];
  dmaStruct.forEach((b, k) => s.poke(0xb000 + k, b));
  s.out32(0x514, 0).out32(0x518, 0x00b00000);
  s.dump(0xb000, 4, 'fwcfg dma control after').dump(0xb100, 4, 'fwcfg dma data');
  s.out16(0x510, 0x0019);
  for (let k = 0; k < 4 + 64 * 4; k++) s.in8(0x511, null);

  // --- port 0x92, debugcon
  s.out8(0x92, 0x02).in8(0x92, 'port92', 0x02);
  s.in8(0xe9, 'debugcon readback');
  return s;
}

function floppyImage(script: Uint8Array, boot: Uint8Array, size = 1474560, sectors = 16): Uint8Array {
  const img = new Uint8Array(size);
  for (let lba = 0; lba < img.length / SECTOR; lba++) for (let i = 0; i < SECTOR; i++) img[lba * SECTOR + i] = dataByte(lba, i);
  img.set(boot, 0);
  if (script.length > sectors * SECTOR) throw new Error('script too long');
  img.fill(0, SECTOR, (sectors + 1) * SECTOR);
  img.set(script, SECTOR);
  return img;
}

class Img implements FloppyBlock {
  constructor(readonly data: Uint8Array) {}
  size() { return this.data.length; }
  async read(off: number, buf: Uint8Array) { await new Promise((r) => setImmediate(r)); buf.set(this.data.subarray(off, off + buf.length)); }
  async write(off: number, buf: Uint8Array) { await new Promise((r) => setImmediate(r)); this.data.set(buf, off); }
}

async function runOurs(img: Uint8Array, boot: Uint8Array, script: Uint8Array): Promise<number[]> {
  const clock = new VirtualClock();
  const io = new IoBus();
  const mem = new MemoryBus(1 << 20, 0); mem.mapRam(0, 1 << 20);
  mem.mem.set(boot, 0x7c00); mem.mem.set(script, 0x7e00);
  const pic = new PicPair(); pic.attach(io);
  const irq = (n: number) => new IrqLine(pic, n);
  const pit = new Pit(clock, irq(0)); pit.attach(io);
  new Port61(clock, pit).attach(io);
  const rtc = new Rtc(clock, irq(8), rtcBaseMs('2020-01-01T00:00:00', 0)); rtc.attach(io);
  fillPcCmos(rtc, { below4g: 128 << 20, floppyTypes: [4, 0], bootOrder: 'a', cpus: 1 });
  new Serial16550(clock, irq(4), new NullChar()).attach(io, 0x3f8);
  new I8042(clock, irq(1), irq(12)).attach(io);
  const dma = new Dma8237(mem); dma.attach(io);
  const fdc = new Fdc82077(irq(6), dma); fdc.attach(io); fdc.insert(0, new Img(img));
  new FwCfg(mem).attach(io);
  new Port92().attach(io);
  new PostPort().attach(io);
  new DebugCon(new NullChar()).attach(io);
  return replay(script, io, mem, clock);
}

function runQemu(img: Uint8Array, dir: string, extra: string[] = []): number[] {
  const imgPath = path.join(dir, 'floppy.img'), log = path.join(dir, 'debugcon.log');
  fs.writeFileSync(imgPath, img);
  const r = spawnSync('qemu-system-i386', [
    '-M', 'pc', '-m', '128', '-nodefaults', '-display', 'none', '-no-reboot',
    '-drive', `if=floppy,format=raw,file=${imgPath}`, '-boot', 'a', '-serial', 'null',
    '-rtc', 'base=2020-01-01T00:00:00', '-debugcon', `file:${log}`,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x01', ...extra,
  ], { timeout: 60_000, encoding: 'utf8' });
  if (r.status !== 1) throw new Error(`qemu exited with ${r.status}: ${r.stderr}`);
  return Array.from(fs.readFileSync(log));
}

function compare(s: Script, qemu: number[], ours: number[], skip: (label: string) => boolean = () => false): string[] {
  if (process.env.ORACLE_DEBUG) s.log.forEach((l, k) => console.log(k, l.label, qemu[k]?.toString(16), ours[k]?.toString(16)));
  expect(qemu.length).toBe(s.log.length);
  expect(ours.length).toBe(s.log.length);
  const diffs: string[] = [];
  s.log.forEach((l, k) => {
    if (skip(l.label)) return;
    if ((qemu[k]! & l.mask) !== (ours[k]! & l.mask)) diffs.push(`${l.label}: qemu=0x${qemu[k]!.toString(16)} ours=0x${ours[k]!.toString(16)}`);
  });
  return diffs;
}

describe('ISA devices against QEMU 7.2 (same port I/O script)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isa-oracle-'));
  let boot: Uint8Array, s: Script, code: Uint8Array, img: Uint8Array, qemu: number[];

  beforeAll(() => {
    execFileSync('nasm', ['-f', 'bin', '-o', path.join(dir, 'boot.bin'), fileURLToPath(new URL('./oracle/boot.asm', import.meta.url))]);
    boot = fs.readFileSync(path.join(dir, 'boot.bin'));
    s = buildScript();
    code = s.end();
    img = floppyImage(code, boot);
    qemu = runQemu(img.slice(), dir);
  }, 120_000);

  it('reads the same values as real QEMU/SeaBIOS hardware', async () => {
    const ours = await runOurs(img.slice(), boot, code);
    expect(compare(s, qemu, ours)).toEqual([]);
    // QEMU lists fw_cfg files sorted by name with keys from 0x20, as ours does.
    const dirStart = s.log.findIndex((l) => l.label.startsWith('ignored in 511'));
    const dirBytes = Uint8Array.from(qemu.slice(dirStart, dirStart + 4 + 64 * 4));
    const dv = new DataView(dirBytes.buffer);
    const names = [0, 1, 2, 3].map((e) => String.fromCharCode(...dirBytes.slice(4 + 64 * e + 8, 4 + 64 * e + 64)).replace(/\0.*$/, ''));
    expect([...names].sort()).toEqual(names);
    expect([0, 1, 2, 3].map((e) => dv.getUint16(4 + 64 * e + 4))).toEqual([0x20, 0x21, 0x22, 0x23]);
  });

  it('gives the same log when the whole qemu-ts pc machine (CPU, SeaBIOS, floppy boot) runs the script', async () => {
    expect(compare(s, qemu, await runWholeMachine(img, dir))).toEqual([]);
  }, 180_000);
});

/** Boot the floppy on the complete qemu-ts pc machine with QEMU's options; returns the debugcon log. */
async function runWholeMachine(img: Uint8Array, dir: string): Promise<number[]> {
  const { parseCommandLineFull, validateMachine } = await import('../../../src/cli/index.js');
  const { runMachine } = await import('../../../src/machine/run.js');
  const imgPath = path.join(dir, 'ours.img'), log = path.join(dir, 'ours.log');
  fs.writeFileSync(imgPath, img);
  const r = parseCommandLineFull(['-L', '/usr/share/seabios', '-M', 'pc', '-m', '128', '-nodefaults', '-display', 'none', '-no-reboot',
    '-drive', `if=floppy,format=raw,file=${imgPath}`, '-boot', 'a', '-serial', 'null',
    '-rtc', 'base=2020-01-01T00:00:00', '-debugcon', `file:${log}`, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x01']);
  await validateMachine(r.desc);
  expect(await runMachine(r.desc)).toBe(1); // isa-debug-exit with value 0
  return Array.from(fs.readFileSync(log));
}

describe('720K floppy against QEMU 7.2', () => {
  it('SeaBIOS senses the medium by data rate and boots it; rates, READ ID and a DMA read agree', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd720-oracle-'));
    execFileSync('nasm', ['-f', 'bin', '-DSECTORS=8', '-o', path.join(dir, 'boot.bin'), fileURLToPath(new URL('./oracle/boot.asm', import.meta.url))]);
    const boot = fs.readFileSync(path.join(dir, 'boot.bin'));
    const s = new Script();
    const cmd = (...b: number[]) => { for (const v of b) { s.wait(0x3f4, 0xc0, 0x80, 'fdc rqm'); s.out8(0x3f5, v); } };
    const res = (n: number, label: string) => { for (let k = 0; k < n; k++) { s.wait(0x3f4, 0xc0, 0xc0, `${label} ready`); s.in8(0x3f5, `${label} ${k}`); } };
    s.out8(0x70, 0x10).in8(0x71, 'cmos floppy types');
    s.out8(0x3f2, 0x1c);
    for (const rate of [0, 1, 3, 2]) {
      s.out8(0x3f7, rate); cmd(0x4a, 0x00); res(7, `read id at rate ${rate}`);
      s.log[s.log.length - 3]!.mask = 0; // R: rotational position
    }
    cmd(0x0f, 0x00, 1); cmd(0x08); res(2, 'seek 1 sense');
    s.out8(0x0a, 0x06).out8(0x0c, 0).out8(0x0b, 0x46);
    s.out8(0x04, 0x00).out8(0x04, 0xc0).out8(0x81, 0x00).out8(0x05, 0xff).out8(0x05, 0x03).out8(0x0a, 0x02);
    cmd(0xc6, 0x04, 1, 1, 8, 2, 9, 0x1b, 0xff); res(7, 'read 1/1/8-9');
    // QEMU steps to the next cylinder after the last sector and flags SE; the FDC reports C+1 without a seek.
    s.log[s.log.length - 13]!.mask = 0xdf;
    s.dump(0xc000, 8, 'sector 1/1/8').dump(0xc200, 8, 'sector 1/1/9');
    const code = s.end();
    const img = floppyImage(code, boot, 737280, 8);
    const qemu = runQemu(img.slice(), dir);
    expect(compare(s, qemu, await runOurs(img.slice(), boot, code))).toEqual([]);
    expect(compare(s, qemu, await runWholeMachine(img, dir))).toEqual([]);
    expect(qemu[s.log.findIndex((l) => l.label === 'sector 1/1/8[0]')]).toBe(dataByte((1 * 2 + 1) * 9 + 7, 0));
  }, 180_000);
});

describe('parallel port against QEMU 7.2', () => {
  it('status handshake, control read-back and printed bytes match', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpt-oracle-'));
    execFileSync('nasm', ['-f', 'bin', '-o', path.join(dir, 'boot.bin'), fileURLToPath(new URL('./oracle/boot.asm', import.meta.url))]);
    const boot = fs.readFileSync(path.join(dir, 'boot.bin'));
    const s = new Script();
    // SeaBIOS has already probed LPT1 (0xAA in the data latch) and initialised it (control 0x0C).
    s.out8(0x37a, 0x0c).out8(0x378, 0xaa);
    s.in8(0x378, 'lpt data').in8(0x37a, 'lpt control');
    for (const [k, ch] of [...'Hi\n'].entries()) {
      s.out8(0x378, ch.charCodeAt(0)).out8(0x37a, 0x0d).in8(0x379, `lpt status strobe ${k}`).out8(0x37a, 0x0c);
      for (let r = 0; r < 4; r++) s.in8(0x379, `lpt status after strobe ${k}.${r}`);
    }
    s.out8(0x37a, 0x1c).in8(0x37a, 'lpt control irq').out8(0x37a, 0x3c).in8(0x37a, 'lpt control dir');
    s.out8(0x37a, 0x08).in8(0x379, 'lpt status after init').in8(0x37a, 'lpt control after init');
    const code = s.end();
    const img = floppyImage(code, boot);
    const out = path.join(dir, 'lpt.out');
    const qemu = runQemu(img.slice(), dir, ['-parallel', `file:${out}`]);
    const io = new IoBus(); const mem = new MemoryBus(1 << 20, 0); mem.mapRam(0, 1 << 20);
    const chr = new MemoryChar();
    new ParallelPort(null, chr).attach(io);
    const ours = await replay(code, io, mem, new VirtualClock());
    expect(compare(s, qemu, ours)).toEqual([]);
    expect(chr.text()).toBe(fs.readFileSync(out, 'latin1'));
    expect(chr.text()).toBe('Hi\n');
  });
});
