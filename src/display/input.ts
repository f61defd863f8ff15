/**
 * What displays (VNC, later SDL/curses) call to deliver keyboard and mouse
 * input to the guest, and the adapter onto the i8042's PS/2 devices.
 *
 * Keys are PC scan codes in the numbering QEMU calls "qnum" (what the VNC
 * QEMU extended key event and QEMU's keymap files carry): the set 1 make
 * code, with 0x80 added for E0-prefixed keys (0xC8 = Up, 0x9C = keypad
 * Enter, 0xC6 = Pause, 0xB7 = Print). {@link qnumToSet1} converts to the
 * set 1 / 0xE0xx form that `Ps2Keyboard.pressKey` takes; the keyboard then
 * emits set 2 (or whatever set the guest selected).
 */
import { KEY_PAUSE, KEY_PRINT, QCODE_TO_SET1 } from '../devices/isa/keycodes.js';
import type { Ps2Keyboard, Ps2Mouse } from '../devices/isa/ps2.js';

/** Button bits of {@link InputSink} pointer calls (PS/2 order). */
export const BTN_LEFT = 1, BTN_RIGHT = 2, BTN_MIDDLE = 4, BTN_SIDE = 8, BTN_EXTRA = 16;

/** LED bits of {@link InputSink.ledState} (the PS/2 "set LEDs" byte and RFB's LED pseudo-encoding agree). */
export const LED_SCROLL = 1, LED_NUM = 2, LED_CAPS = 4;

export interface InputSink {
  /** A key went down or up; `qnum` as described above. */
  key(qnum: number, down: boolean): void;
  /** Relative motion (dx right, dy down, dz wheel: positive = towards the user) and the buttons now held. */
  pointerRel(dx: number, dy: number, dz: number, buttons: number): void;
  /**
   * Absolute position in framebuffer pixels (of a width x height screen).
   * Only when {@link absolute} is true; PS/2 is relative, so displays convert
   * to deltas themselves when it is false.
   */
  pointerAbs(x: number, y: number, width: number, height: number, buttons: number): void;
  /** Whether the guest has an absolute pointing device (a tablet). */
  readonly absolute: boolean;
  /** Current keyboard LEDs (LED_* bits). */
  ledState(): number;
  /** Called with the new LED bits whenever the guest changes them; returns an unsubscribe function. */
  onLedChange(cb: (leds: number) => void): () => void;
}

/** qnum → Ps2Keyboard code (set 1 make code, 0xE0xx for extended keys, Pause/Print sequences). */
export function qnumToSet1(q: number): number {
  if (q === 0xc6) return KEY_PAUSE;
  if (q === 0xb7) return KEY_PRINT;
  if (q & 0x80) return 0xe000 | (q & 0x7f);
  return q & 0x7f;
}

/** Ps2Keyboard code (set 1, 0xE0xx, Pause/Print) → qnum. */
export function set1ToQnum(code: number): number {
  if (code === KEY_PAUSE) return 0xc6;
  if (code === KEY_PRINT) return 0xb7;
  return (code & 0xff00) === 0xe000 ? 0x80 | (code & 0x7f) : code & 0x7f;
}

/**
 * QKeyCodes whose qnum QEMU defines differently from (or beyond) the set 1
 * table in devices/isa/keycodes.ts: Japanese keys, lf, menu vs compose, and
 * the multimedia/application keys.
 */
const QNUM_EXTRA: Readonly<Record<string, number>> = {
  hiragana: 0x77, katakanahiragana: 0x70, lf: 0x5b, menu: 0x9e, compose: 0xdd,
  audiomute: 0xa0, stop: 0xe8, again: 0x85, props: 0x86, undo: 0x87, front: 0x8c, copy: 0xf8, open: 0x64,
  paste: 0x65, find: 0xc1, cut: 0xbc, help: 0xf5, calculator: 0xa1, mail: 0xec, ac_bookmarks: 0xe6,
  computer: 0xeb, ac_back: 0xea, ac_forward: 0xe9, audionext: 0x99, audioplay: 0xa2, audioprev: 0x90,
  audiostop: 0xa4, ac_home: 0xb2, ac_refresh: 0xe7, mediaselect: 0xed,
};

/** A QEMU key name (QKeyCode, e.g. "ctrl", "kp_enter", "pause") → qnum; undefined if unknown. */
export function qcodeToQnum(name: string): number | undefined {
  if (Object.prototype.hasOwnProperty.call(QNUM_EXTRA, name)) return QNUM_EXTRA[name];
  if (!Object.prototype.hasOwnProperty.call(QCODE_TO_SET1, name)) return undefined;
  return set1ToQnum(QCODE_TO_SET1[name]!);
}

/** Anything with the i8042's two PS/2 devices. */
export interface Ps2Pair { readonly keyboard: Ps2Keyboard; readonly mouse: Ps2Mouse }

/**
 * The InputSink of a PC without a tablet: keys go to the PS/2 keyboard,
 * motion to the PS/2 mouse. SysRq (qnum 0x54, what X keymaps give Print) is
 * sent as Print Screen unless Alt is held, as QEMU's PS/2 keyboard does.
 */
export class Ps2InputSink implements InputSink {
  readonly absolute = false;
  private altDown = 0;
  private readonly listeners = new Set<(leds: number) => void>();

  constructor(private readonly dev: Ps2Pair) {
    const prev = dev.keyboard.onLeds;
    dev.keyboard.onLeds = (leds) => {
      if (prev) prev(leds);
      for (const l of this.listeners) l(leds);
    };
  }

  key(qnum: number, down: boolean): void {
    if (qnum === 0x38 || qnum === 0xb8) this.altDown = down ? this.altDown | (qnum === 0x38 ? 1 : 2) : this.altDown & ~(qnum === 0x38 ? 1 : 2);
    let code = qnumToSet1(qnum);
    if (qnum === 0x54 && this.altDown === 0) code = KEY_PRINT;
    if (code === 0 || code === 0xe000) return;
    this.dev.keyboard.pressKey(code, down);
  }

  pointerRel(dx: number, dy: number, dz: number, buttons: number): void {
    this.dev.mouse.move(dx, dy, dz, buttons & 31);
  }

  pointerAbs(): void {
    // PS/2 has no absolute mode; displays send relative motion when `absolute` is false.
  }

  ledState(): number { return this.dev.keyboard.leds & 7; }

  onLedChange(cb: (leds: number) => void): () => void {
    this.listeners.add(cb);
    return () => { this.listeners.delete(cb); };
  }
}
