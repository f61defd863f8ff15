import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { enUsKeymap, keysymByName, loadKeymap, parseKeymapFile } from '../../../src/display/keymap.js';
import { qcodeToQnum, qnumToSet1 } from '../../../src/display/input.js';

const QEMU_EN_US = '/usr/share/qemu/keymaps/en-us';

describe('keymap', () => {
  it('built-in en-us agrees with QEMU\'s en-us keymap file for every keysym both know', () => {
    expect(existsSync(QEMU_EN_US)).toBe(true);
    const file = parseKeymapFile('en-us', readFileSync(QEMU_EN_US, 'latin1'));
    const builtin = enUsKeymap();
    let compared = 0;
    const text = readFileSync(QEMU_EN_US, 'latin1');
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 2 || line.startsWith('#')) continue;
      const sym = keysymByName(f[0]!);
      if (sym === undefined || builtin.lookup(sym) === undefined) continue;
      expect([f[0], builtin.lookup(sym)]).toEqual([f[0], file.lookup(sym)]);
      compared++;
    }
    expect(compared).toBeGreaterThan(150);
  });
  it('maps common keysyms of en-us', () => {
    const k = enUsKeymap();
    expect(k.lookup(0x61)).toBe(0x1e); // a
    expect(k.lookup(0x41)).toBe(0x1e); // A (shift comes from the client's Shift_L event)
    expect(k.lookup(0x40)).toBe(0x03); // @ on the 2 key
    expect(k.lookup(0xff0d)).toBe(0x1c); // Return
    expect(k.lookup(0xff52)).toBe(0xc8); // Up: E0 48
    expect(k.lookup(0xffe3)).toBe(0x1d);
    expect(k.lookup(0x20ac)).toBeUndefined();
  });
  it('reads -k de from QEMU\'s keymap files (y and z swapped, umlauts)', () => {
    const de = loadKeymap('de');
    expect(de.lookup(0x7a)).toBe(0x15); // z where US has y
    expect(de.lookup(0x79)).toBe(0x2c);
    expect(de.lookup(0xfc)).toBe(0x1a); // udiaeresis
    expect(de.lookup(0x40)).toBe(0x10); // @ = AltGr+q
  });
  it('rejects unknown layouts with a clear error', () => {
    expect(() => loadKeymap('xx')).toThrow(/could not read keymap file/);
    expect(() => loadKeymap('../etc')).toThrow(/could not read keymap file/);
  });
  it('converts qnum to PS/2 keyboard codes', () => {
    expect(qnumToSet1(0x1e)).toBe(0x1e);
    expect(qnumToSet1(0xc8)).toBe(0xe048);
    expect(qnumToSet1(0xc6)).toBe(0xe11d45);
    expect(qnumToSet1(0xb7)).toBe(0xe037);
  });
  it('maps QEMU key names to the qnums QEMU\'s keymap files use', () => {
    // Every keymap entry line carries its QKeyCode name in a comment: "# evdev 1 (0x1), QKeyCode "esc", number 0x1".
    const text = readFileSync(QEMU_EN_US, 'latin1');
    const re = /QKeyCode "([a-z0-9_]+)", number (0x[0-9a-f]+)/g;
    let checked = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      expect([m[1], qcodeToQnum(m[1]!)]).toEqual([m[1], parseInt(m[2]!, 16)]);
      checked++;
    }
    expect(checked).toBeGreaterThan(90);
    expect(qcodeToQnum('nonsense')).toBeUndefined();
    expect(qcodeToQnum('toString')).toBeUndefined();
  });
});
