import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, IrqSink } from '../../../src/bus/irq.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { I8042 } from '../../../src/devices/isa/i8042.js';
import { xlat } from '../../../src/devices/isa/ps2.js';

class Sink implements IrqSink {
  lv = [false, false]; rises = [0, 0];
  setIrq(n: number, l: boolean) { const i = n === 1 ? 0 : 1; if (l && !this.lv[i]) this.rises[i]!++; this.lv[i] = l; }
}

function setup() {
  const clock = new VirtualClock();
  const io = new IoBus();
  const sink = new Sink();
  const kbc = new I8042(clock, new IrqLine(sink, 1), new IrqLine(sink, 12));
  kbc.attach(io);
  const st = () => io.read(0x64, 1);
  const cmd = (v: number) => io.write(0x64, 1, v);
  const data = (v: number) => io.write(0x60, 1, v);
  /** Drain the output buffer: [byte, fromAux] */
  const drain = () => { const out: number[] = []; while (st() & 1) out.push(io.read(0x60, 1)); return out; };
  return { clock, io, sink, kbc, st, cmd, data, drain };
}

describe('i8042 controller', () => {
  it('self-test returns 0x55 and sets the system flag; interface tests return 0', () => {
    const { st, cmd, drain } = setup();
    expect(st() & 0x04).toBe(0);
    cmd(0xaa); expect(drain()).toEqual([0x55]);
    expect(st() & 0x04).toBe(0x04);
    cmd(0xab); expect(drain()).toEqual([0x00]);
    cmd(0xa9); expect(drain()).toEqual([0x00]);
  });

  it('reads and writes the command byte; status bit 3 tracks command vs data writes', () => {
    const { st, cmd, data, drain } = setup();
    cmd(0x20); expect(drain()).toEqual([0x43]);
    expect(st() & 0x08).toBe(0x08);
    cmd(0x60); data(0x65);
    expect(st() & 0x08).toBe(0);
    cmd(0x20); expect(drain()).toEqual([0x65]);
    expect(st() & 0x04).toBe(0x04); // SYS flag follows the command byte
  });

  it('keyboard reset answers ACK then BAT 0xAA on IRQ1', () => {
    const { data, drain, sink } = setup();
    data(0xff);
    expect(sink.lv[0]).toBe(true);
    expect(drain()).toEqual([0xfa, 0xaa]);
    expect(sink.rises[0]).toBe(2);
    expect(sink.lv[0]).toBe(false);
  });

  it('identify gives AB 83, seen as AB 41 through translation', () => {
    const { cmd, data, drain } = setup();
    data(0xf2); expect(drain()).toEqual([0xfa, 0xab, 0x41]);
    cmd(0x60); data(0x01); // XLAT off
    data(0xf2); expect(drain()).toEqual([0xfa, 0xab, 0x83]);
  });

  it('translates set 2 to set 1 as the 8042 does', () => {
    // set 2 → set 1: A, Esc, Enter, Space, F1, F7, F11, F12, LShift, NumLock, KP*, Backspace
    const pairs = [[0x1c, 0x1e], [0x76, 0x01], [0x5a, 0x1c], [0x29, 0x39], [0x05, 0x3b], [0x83, 0x41], [0x78, 0x57],
      [0x07, 0x58], [0x12, 0x2a], [0x77, 0x45], [0x7c, 0x37], [0x66, 0x0e], [0xfa, 0xfa], [0xaa, 0xaa]];
    for (const [s2, s1] of pairs) expect(xlat(s2!)).toBe(s1);
  });

  it('keys come as set 1 make/break with translation, set 2 with F0 breaks without', () => {
    const { kbc, cmd, data, drain } = setup();
    kbc.keyboard.pressKey(0x1e, true); kbc.keyboard.pressKey(0x1e, false);
    kbc.keyboard.pressKey(0xe048, true); kbc.keyboard.pressKey(0xe048, false);
    expect(drain()).toEqual([0x1e, 0x9e, 0xe0, 0x48, 0xe0, 0xc8]);
    cmd(0x60); data(0x01);
    kbc.keyboard.pressKey(0x1e, true); kbc.keyboard.pressKey(0x1e, false);
    kbc.keyboard.pressKey(0xe048, false);
    expect(drain()).toEqual([0x1c, 0xf0, 0x1c, 0xe0, 0xf0, 0x75]);
    data(0xf0); data(0x00); expect(drain()).toEqual([0xfa, 0xfa, 0x02]);
    data(0xf0); data(0x01); expect(drain()).toEqual([0xfa, 0xfa]);
    kbc.keyboard.pressKey(0x1e, false);
    expect(drain()).toEqual([0x9e]);
  });

  it('LED, echo and unknown commands', () => {
    const { kbc, data, drain } = setup();
    let leds = -1;
    kbc.keyboard.onLeds = (l) => { leds = l; };
    data(0xed); data(0x07);
    expect(drain()).toEqual([0xfa, 0xfa]);
    expect(leds).toBe(7);
    data(0xee); expect(drain()).toEqual([0xee]);
    data(0x12); expect(drain()).toEqual([0xfe]);
    data(0xf0); data(0x00); expect(drain()).toEqual([0xfa, 0xfa, 0x41]);
  });

  it('typematic repeat from the virtual clock (default 500 ms, 10.9 cps)', () => {
    const { clock, kbc, drain } = setup();
    kbc.keyboard.pressKey(0x1e, true);
    expect(drain()).toEqual([0x1e]);
    clock.advanceTo(499e6); expect(drain()).toEqual([]);
    clock.advanceTo(500e6); expect(drain()).toEqual([0x1e]);
    clock.advanceTo(500e6 + 1000e6);
    const n = drain().length;
    expect(n).toBeGreaterThanOrEqual(10); expect(n).toBeLessThanOrEqual(11);
    kbc.keyboard.pressKey(0x1e, false);
    clock.advanceTo(3e9); expect(drain()).toEqual([0x9e]);
  });

  it('disabling the keyboard interface holds keys until re-enabled', () => {
    const { kbc, cmd, drain } = setup();
    cmd(0xad);
    kbc.keyboard.pressKey(0x10, true);
    expect(drain()).toEqual([]);
    cmd(0xae);
    expect(drain()).toEqual([0x10]);
  });

  it('PS/2 mouse: commands via D4, replies on IRQ12 with the aux status bit', () => {
    const { io, st, cmd, data, drain, sink, kbc } = setup();
    cmd(0xd4); data(0xff);
    expect(st() & 0x21).toBe(0x21);
    expect(sink.lv[1]).toBe(true);
    expect(drain()).toEqual([0xfa, 0xaa, 0x00]);
    cmd(0xd4); data(0xf2); expect(drain()).toEqual([0xfa, 0x00]);
    cmd(0xd4); data(0xf4); expect(drain()).toEqual([0xfa]);
    kbc.mouse.move(5, 3, 0, 1);
    expect(drain()).toEqual([0x09 | 0x20, 5, 0xfd]);
    kbc.mouse.move(-300, 0, 0, 1);
    expect(drain()).toEqual([0x18 | 0x01, 0x00, 0x00, 0x18 | 0x01, 0xd4, 0x00]);
    cmd(0xd4); data(0xe9); expect(drain()).toEqual([0xfa, 0x21, 0x02, 100]);
    void io;
  });

  it('IntelliMouse knock 200,100,80 switches to ID 3 with 4-byte packets, then 200,200,80 to ID 4', () => {
    const { cmd, data, drain, kbc } = setup();
    const send = (...b: number[]) => { for (const v of b) { cmd(0xd4); data(v); } };
    send(0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf2);
    expect(drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x03]);
    send(0xf4); drain();
    kbc.mouse.move(0, 0, -1, 0);
    expect(drain()).toEqual([0x08, 0, 0, 0xff]);
    send(0xf3, 200, 0xf3, 200, 0xf3, 80, 0xf2);
    expect(drain().slice(-1)).toEqual([0x04]);
  });

  it('output port: A20 through D1 and DD/DF, reset through D1 bit 0 and FE', () => {
    const { cmd, data, drain, kbc } = setup();
    const a20: boolean[] = []; let resets = 0;
    kbc.onA20 = (e) => a20.push(e); kbc.onReset = () => resets++;
    cmd(0xd0); expect(drain()[0]! & 0x03).toBe(0x03);
    cmd(0xd1); data(0xdd);
    expect(kbc.a20).toBe(false);
    cmd(0xd1); data(0xdf);
    expect(a20).toEqual([false, true]);
    cmd(0xdd); cmd(0xdf);
    expect(a20).toEqual([false, true, false, true]);
    expect(resets).toBe(0);
    cmd(0xfe); expect(resets).toBe(1);
    cmd(0xff); expect(resets).toBe(1);
    cmd(0xd1); data(0xde); expect(resets).toBe(2);
  });

  it('D2/D3 inject bytes as if from the keyboard/mouse', () => {
    const { st, cmd, data, io } = setup();
    cmd(0xd3); data(0x42);
    expect(st() & 0x21).toBe(0x21);
    expect(io.read(0x60, 1)).toBe(0x42);
    cmd(0xd2); data(0x43);
    expect(st() & 0x21).toBe(0x01);
    expect(io.read(0x60, 1)).toBe(0x43);
  });

  it('saves and restores', () => {
    const { kbc, clock, cmd, data } = setup();
    cmd(0x60); data(0x47);
    kbc.keyboard.pressKey(0x1e, true);
    const s = JSON.parse(JSON.stringify(kbc.saveState()));
    const k2 = new I8042(clock, null, null);
    k2.loadState(s);
    const io = new IoBus(); k2.attach(io);
    expect(io.read(0x60, 1)).toBe(0x1e);
    expect(k2.mode).toBe(0x47);
  });
});

describe('key names', () => {
  it('maps QEMU key names to set 1 codes', async () => {
    const { QCODE_TO_SET1, parseKeyCombo } = await import('../../../src/devices/isa/keycodes.js');
    const want: Record<string, number> = { esc: 0x01, 0: 0x0b, backspace: 0x0e, q: 0x10, ret: 0x1c, ctrl: 0x1d, a: 0x1e, l: 0x26,
      grave_accent: 0x29, shift: 0x2a, z: 0x2c, m: 0x32, slash: 0x35, shift_r: 0x36, alt: 0x38, spc: 0x39, f1: 0x3b, f10: 0x44,
      kp_decimal: 0x53, f11: 0x57, f12: 0x58, delete: 0xe053, up: 0xe048, kp_enter: 0xe01c, meta_l: 0xe05b };
    for (const [k, v] of Object.entries(want)) expect([k, QCODE_TO_SET1[k]]).toEqual([k, v]);
    expect(parseKeyCombo('ctrl-alt-delete')).toEqual([0x1d, 0x38, 0xe053]);
    expect(() => parseKeyCombo('ctrl-bogus')).toThrow("Parameter 'keys' expects a valid key name, got 'bogus'");
  });

  it('sendkey ctrl-alt-delete: presses in order, releases in reverse after 100 ms of virtual time', async () => {
    const { parseKeyCombo } = await import('../../../src/devices/isa/keycodes.js');
    const { kbc, drain, clock } = setup();
    kbc.keyboard.sendKeyCombo(parseKeyCombo('ctrl-alt-delete'));
    expect(drain()).toEqual([0x1d, 0x38, 0xe0, 0x53]);
    clock.advanceTo(99e6); expect(drain()).toEqual([]);
    clock.advanceTo(100e6); expect(drain()).toEqual([0xe0, 0xd3, 0xb8, 0x9d]);
  });

  it('sends Pause and Print Screen sequences (set 2, seen translated)', () => {
    const { kbc, drain, cmd, data } = setup();
    kbc.keyboard.pressKey(0xe11d45, true); kbc.keyboard.pressKey(0xe11d45, false);
    expect(drain()).toEqual([0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]);
    kbc.keyboard.pressKey(0xe037, true); kbc.keyboard.pressKey(0xe037, false);
    expect(drain()).toEqual([0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa]);
    cmd(0x60); data(0x01);
    kbc.keyboard.pressKey(0xe037, true);
    expect(drain()).toEqual([0xe0, 0x12, 0xe0, 0x7c]);
  });
});
