/**
 * QEMU key names (QKeyCode, as used by the monitor's `sendkey` and by
 * displays) to PC set 1 make codes, extended keys as 0xE0xx, the form
 * `Ps2Keyboard.pressKey` takes. Pause is 0xE11D45 and Print Screen 0xE037:
 * the keyboard sends their multi-byte sequences.
 */
export const KEY_PAUSE = 0xe11d45;
export const KEY_PRINT = 0xe037;

const ROW = (names: string, first: number, into: Record<string, number>) => {
  names.split(' ').forEach((n, i) => { into[n] = first + i; });
};

export const QCODE_TO_SET1: Readonly<Record<string, number>> = (() => {
  const m: Record<string, number> = {};
  ROW('esc 1 2 3 4 5 6 7 8 9 0 minus equal backspace tab q w e r t y u i o p bracket_left bracket_right ret ctrl a s d f g h j k l semicolon apostrophe grave_accent shift backslash z x c v b n m comma dot slash shift_r kp_multiply alt spc caps_lock f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 num_lock scroll_lock kp_7 kp_8 kp_9 kp_subtract kp_4 kp_5 kp_6 kp_add kp_1 kp_2 kp_3 kp_0 kp_decimal', 0x01, m);
  Object.assign(m, {
    sysrq: 0x54, less: 0x56, f11: 0x57, f12: 0x58, kp_equals: 0x59,
    hiragana: 0x70, ro: 0x73, henkan: 0x79, muhenkan: 0x7b, yen: 0x7d, kp_comma: 0x7e,
    kp_enter: 0xe01c, ctrl_r: 0xe01d, mute: 0xe020, volumedown: 0xe02e, volumeup: 0xe030, kp_divide: 0xe035,
    print: KEY_PRINT, alt_r: 0xe038, home: 0xe047, up: 0xe048, pgup: 0xe049, left: 0xe04b, right: 0xe04d,
    end: 0xe04f, down: 0xe050, pgdn: 0xe051, insert: 0xe052, delete: 0xe053, meta_l: 0xe05b, meta_r: 0xe05c,
    menu: 0xe05d, power: 0xe05e, sleep: 0xe05f, wake: 0xe063, pause: KEY_PAUSE,
  });
  // Aliases QEMU's sendkey accepts.
  Object.assign(m, { asterisk: m.kp_multiply, compose: m.menu, altgr: m.alt_r, altgr_r: m.alt_r, lf: m.ret });
  return m;
})();

/**
 * Parse a `sendkey` combination such as "ctrl-alt-delete" or "0x1e" into set 1
 * codes (pressed in order, released in reverse).
 */
export function parseKeyCombo(s: string): number[] {
  return s.split('-').map((k) => {
    if (/^0x[0-9a-f]+$/i.test(k)) return parseInt(k, 16);
    const c = QCODE_TO_SET1[k];
    if (c === undefined) throw new Error(`Parameter 'keys' expects a valid key name, got '${k}'`);
    return c;
  });
}
