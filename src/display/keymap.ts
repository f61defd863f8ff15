/**
 * X11 keysyms (what RFB KeyEvent messages carry) to PC scan codes in QEMU's
 * "qnum" numbering (set 1 make code, +0x80 for E0 keys; see input.ts).
 *
 * The default `en-us` layout is built in. Other `-k` layouts are read at run
 * time from QEMU's keymap files (/usr/share/qemu/keymaps/<name>, lines
 * "keysym-name qnum [modifiers]"); keysym names outside Latin-1 and the
 * function keys are looked up in /usr/include/X11/keysymdef.h when present,
 * and `Uxxxx` / `0x...` names are understood directly.
 */
import { existsSync, readFileSync } from 'node:fs';

const LATIN1 =
  'nobreakspace exclamdown cent sterling currency yen brokenbar section diaeresis copyright ordfeminine guillemotleft notsign hyphen registered macron ' +
  'degree plusminus twosuperior threesuperior acute mu paragraph periodcentered cedilla onesuperior masculine guillemotright onequarter onehalf threequarters questiondown ' +
  'Agrave Aacute Acircumflex Atilde Adiaeresis Aring AE Ccedilla Egrave Eacute Ecircumflex Ediaeresis Igrave Iacute Icircumflex Idiaeresis ' +
  'ETH Ntilde Ograve Oacute Ocircumflex Otilde Odiaeresis multiply Oslash Ugrave Uacute Ucircumflex Udiaeresis Yacute THORN ssharp ' +
  'agrave aacute acircumflex atilde adiaeresis aring ae ccedilla egrave eacute ecircumflex ediaeresis igrave iacute icircumflex idiaeresis ' +
  'eth ntilde ograve oacute ocircumflex otilde odiaeresis division oslash ugrave uacute ucircumflex udiaeresis yacute thorn ydiaeresis';

const ASCII_NAMES =
  'space exclam quotedbl numbersign dollar percent ampersand apostrophe parenleft parenright asterisk plus comma minus period slash ' +
  '0 1 2 3 4 5 6 7 8 9 colon semicolon less equal greater question at ' +
  'A B C D E F G H I J K L M N O P Q R S T U V W X Y Z bracketleft backslash bracketright asciicircum underscore grave ' +
  'a b c d e f g h i j k l m n o p q r s t u v w x y z braceleft bar braceright asciitilde';

/** Function and modifier keysyms, with their en-us scan codes (qnum). */
const FUNCTION_KEYS: ReadonlyArray<[string, number, number]> = [
  ['BackSpace', 0xff08, 0x0e], ['Tab', 0xff09, 0x0f], ['Linefeed', 0xff0a, 0x5b], ['Return', 0xff0d, 0x1c],
  ['Pause', 0xff13, 0xc6], ['Scroll_Lock', 0xff14, 0x46], ['Sys_Req', 0xff15, 0x54], ['Escape', 0xff1b, 0x01],
  ['Home', 0xff50, 0xc7], ['Left', 0xff51, 0xcb], ['Up', 0xff52, 0xc8], ['Right', 0xff53, 0xcd], ['Down', 0xff54, 0xd0],
  ['Prior', 0xff55, 0xc9], ['Next', 0xff56, 0xd1], ['End', 0xff57, 0xcf], ['Print', 0xff61, 0x54], ['Execute', 0xff62, 0x54],
  ['Insert', 0xff63, 0xd2], ['Undo', 0xff65, 0x87], ['Redo', 0xff66, 0x85], ['Menu', 0xff67, 0xdd], ['Find', 0xff68, 0xc1],
  ['Cancel', 0xff69, 0xe8], ['Help', 0xff6a, 0xf5], ['Mode_switch', 0xff7e, 0xb8], ['Num_Lock', 0xff7f, 0x45],
  ['KP_Enter', 0xff8d, 0x9c], ['KP_Home', 0xff95, 0x47], ['KP_Left', 0xff96, 0x4b], ['KP_Up', 0xff97, 0x48], ['KP_Right', 0xff98, 0x4d],
  ['KP_Down', 0xff99, 0x50], ['KP_Prior', 0xff9a, 0x49], ['KP_Next', 0xff9b, 0x51], ['KP_End', 0xff9c, 0x4f], ['KP_Begin', 0xff9d, 0x4c],
  ['KP_Insert', 0xff9e, 0x52], ['KP_Delete', 0xff9f, 0x53], ['KP_Multiply', 0xffaa, 0x37], ['KP_Add', 0xffab, 0x4e],
  ['KP_Separator', 0xffac, 0x53], ['KP_Subtract', 0xffad, 0x4a], ['KP_Decimal', 0xffae, 0x53], ['KP_Divide', 0xffaf, 0xb5],
  ['KP_0', 0xffb0, 0x52], ['KP_1', 0xffb1, 0x4f], ['KP_2', 0xffb2, 0x50], ['KP_3', 0xffb3, 0x51], ['KP_4', 0xffb4, 0x4b],
  ['KP_5', 0xffb5, 0x4c], ['KP_6', 0xffb6, 0x4d], ['KP_7', 0xffb7, 0x47], ['KP_8', 0xffb8, 0x48], ['KP_9', 0xffb9, 0x49],
  ['KP_Equal', 0xffbd, 0x59],
  ['F1', 0xffbe, 0x3b], ['F2', 0xffbf, 0x3c], ['F3', 0xffc0, 0x3d], ['F4', 0xffc1, 0x3e], ['F5', 0xffc2, 0x3f], ['F6', 0xffc3, 0x40],
  ['F7', 0xffc4, 0x41], ['F8', 0xffc5, 0x42], ['F9', 0xffc6, 0x43], ['F10', 0xffc7, 0x44], ['F11', 0xffc8, 0x57], ['F12', 0xffc9, 0x58],
  ['Shift_L', 0xffe1, 0x2a], ['Shift_R', 0xffe2, 0x36], ['Control_L', 0xffe3, 0x1d], ['Control_R', 0xffe4, 0x9d],
  ['Caps_Lock', 0xffe5, 0x3a], ['Meta_L', 0xffe7, 0x38], ['Meta_R', 0xffe8, 0xb8], ['Alt_L', 0xffe9, 0x38], ['Alt_R', 0xffea, 0xb8],
  ['Super_L', 0xffeb, 0xdb], ['Super_R', 0xffec, 0xdc], ['ISO_Level3_Shift', 0xfe03, 0xb8], ['ISO_Left_Tab', 0xfe20, 0x0f],
  ['Delete', 0xffff, 0xd3],
  ['Hiragana', 0xff25, 0x77], ['Hiragana_Katakana', 0xff27, 0x70], ['Henkan_Mode', 0xff23, 0x79], ['Muhenkan', 0xff22, 0x7b],
];

const DEAD_KEYS = 'dead_grave dead_acute dead_circumflex dead_tilde dead_macron dead_breve dead_abovedot dead_diaeresis dead_abovering dead_doubleacute dead_caron dead_cedilla dead_ogonek';

/** Keysym names this module knows without keysymdef.h. */
const NAMES: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  ASCII_NAMES.split(' ').forEach((n, i) => m.set(n, 0x20 + i));
  LATIN1.split(' ').forEach((n, i) => m.set(n, 0xa0 + i));
  for (const [n, v] of FUNCTION_KEYS) m.set(n, v);
  DEAD_KEYS.split(' ').forEach((n, i) => m.set(n, 0xfe50 + i));
  m.set('EuroSign', 0x20ac);
  return m;
})();

/** US keyboard rows: unshifted and shifted characters from a starting scan code. */
const US_ROWS: ReadonlyArray<[string, string, number]> = [
  ['1234567890-=', '!@#$%^&*()_+', 0x02],
  ['qwertyuiop[]', 'QWERTYUIOP{}', 0x10],
  ["asdfghjkl;'`", 'ASDFGHJKL:"~', 0x1e],
  ['\\zxcvbnm,./', '|ZXCVBNM<>?', 0x2b],
];

export class Keymap {
  private readonly map = new Map<number, number>();

  constructor(readonly name: string) {}

  /** Add a mapping; the first one given for a keysym wins (the unmodified position). */
  add(keysym: number, qnum: number): void {
    if (!this.map.has(keysym)) this.map.set(keysym, qnum);
  }

  /** The scan code (qnum) for a keysym, or undefined when the layout has no key for it. */
  lookup(keysym: number): number | undefined {
    const q = this.map.get(keysym);
    if (q !== undefined) return q;
    // Letters arrive in either case depending on the client's Caps Lock.
    if (keysym >= 0x41 && keysym <= 0x5a) return this.map.get(keysym + 0x20);
    if (keysym >= 0x61 && keysym <= 0x7a) return this.map.get(keysym - 0x20);
    return undefined;
  }

  get size(): number { return this.map.size; }
}

/** The built-in US layout (QEMU's default `-k en-us`). */
export function enUsKeymap(): Keymap {
  const k = new Keymap('en-us');
  for (const [n, v, q] of FUNCTION_KEYS) { void n; k.add(v, q); }
  k.add(0x20, 0x39);
  for (const [plain, shifted, first] of US_ROWS) {
    for (let i = 0; i < plain.length; i++) k.add(plain.charCodeAt(i), first + i);
    for (let i = 0; i < shifted.length; i++) k.add(shifted.charCodeAt(i), first + i);
  }
  k.add(0xa6, 0x56); // brokenbar on the 102nd key
  return k;
}

let keysymdef: Map<string, number> | null = null;

function systemKeysyms(): Map<string, number> {
  if (keysymdef) return keysymdef;
  keysymdef = new Map();
  const path = '/usr/include/X11/keysymdef.h';
  if (existsSync(path)) {
    const re = /^#define XK_(\w+)\s+0x([0-9a-fA-F]+)/gm;
    const text = readFileSync(path, 'latin1');
    for (let m = re.exec(text); m; m = re.exec(text)) keysymdef.set(m[1]!, parseInt(m[2]!, 16));
  }
  return keysymdef;
}

/** The keysym value of a keymap-file name, or undefined. */
export function keysymByName(name: string): number | undefined {
  const v = NAMES.get(name);
  if (v !== undefined) return v;
  if (/^U[0-9a-fA-F]{4,6}$/.test(name)) {
    const cp = parseInt(name.slice(1), 16);
    return cp >= 0x20 && cp <= 0xff ? cp : 0x1000000 + cp;
  }
  if (/^0x[0-9a-fA-F]+$/.test(name)) return parseInt(name, 16);
  return systemKeysyms().get(name);
}

/** Parse the text of a QEMU keymap file. Unknown names are skipped. */
export function parseKeymapFile(name: string, text: string): Keymap {
  const k = new Keymap(name);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('include') || line.startsWith('map ')) continue;
    const f = line.split(/\s+/);
    if (f.length < 2 || !/^0x[0-9a-fA-F]+$/.test(f[1]!)) continue;
    const sym = keysymByName(f[0]!);
    if (sym === undefined) continue;
    k.add(sym, parseInt(f[1]!, 16));
  }
  return k;
}

export const KEYMAP_DIRS = ['/usr/share/qemu/keymaps', '/usr/local/share/qemu/keymaps'];

/** The keymap for a `-k` layout name; en-us (the default) is built in. */
export function loadKeymap(layout: string | null | undefined): Keymap {
  if (layout === null || layout === undefined || layout === '' || layout === 'en-us') return enUsKeymap();
  if (!/^[a-z]{2}(-[a-z]{2,3})?$|^bepo$/.test(layout)) throw new Error(`could not read keymap file: '${layout}'`);
  for (const dir of KEYMAP_DIRS) {
    const p = `${dir}/${layout}`;
    if (existsSync(p)) return parseKeymapFile(layout, readFileSync(p, 'latin1'));
  }
  throw new Error(`could not read keymap file: '${layout}' (QEMU's keymap files were not found in ${KEYMAP_DIRS.join(' or ')})`);
}
