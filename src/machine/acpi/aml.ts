/**
 * A small AML (ACPI Machine Language) encoder: just the terms a PC's DSDT needs
 * (scopes, devices, names, packages, buffers, integers, strings, EISA ids and
 * resource templates). Encodings follow the ACPI specification, section 20.
 */

export type Aml = number[];

/** PkgLength: the length of what follows including the PkgLength bytes themselves. */
export function pkgLength(bodyLen: number): Aml {
  for (let n = 1; n <= 4; n++) {
    const total = bodyLen + n;
    const limit = n === 1 ? 0x40 : 1 << (4 + 8 * (n - 1));
    if (total < limit) {
      if (n === 1) return [total];
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let i = 1; i < n; i++) out.push((total >>> (4 + 8 * (i - 1))) & 0xff);
      return out;
    }
  }
  throw new RangeError('AML package too long');
}

function seg(s: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(s)) throw new Error(`bad AML name segment '${s}'`);
  const p = s.padEnd(4, '_');
  return [...p].map((c) => c.charCodeAt(0));
}

/** NameString: `\\_SB.PCI0`, `^ISA`, `_HID`. */
export function nameString(path: string): Aml {
  const out: Aml = [];
  let rest = path;
  while (rest.startsWith('\\')) { out.push(0x5c); rest = rest.slice(1); }
  while (rest.startsWith('^')) { out.push(0x5e); rest = rest.slice(1); }
  const segs = rest === '' ? [] : rest.split('.');
  if (segs.length === 0) out.push(0x00);
  else if (segs.length === 1) out.push(...seg(segs[0]!));
  else if (segs.length === 2) out.push(0x2e, ...seg(segs[0]!), ...seg(segs[1]!));
  else { out.push(0x2f, segs.length); for (const s of segs) out.push(...seg(s)); }
  return out;
}

export function integer(v: number): Aml {
  if (v === 0) return [0x00];
  if (v === 1) return [0x01];
  if (v < 0x100) return [0x0a, v];
  if (v < 0x10000) return [0x0b, v & 0xff, v >>> 8];
  if (v < 0x100000000) return [0x0c, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  throw new RangeError('AML integer beyond 32 bits');
}

export function string(s: string): Aml { return [0x0d, ...[...s].map((c) => c.charCodeAt(0)), 0x00]; }

/** EisaId("PNP0A03") as the 32-bit compressed id. */
export function eisaId(id: string): Aml {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`bad EISA id '${id}'`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const vendor = (c(0) << 10) | (c(1) << 5) | c(2);
  const product = parseInt(id.slice(3), 16);
  return [0x0c, vendor >>> 8, vendor & 0xff, product >>> 8, product & 0xff];
}

export function name(n: string, value: Aml): Aml { return [0x08, ...nameString(n), ...value]; }

export function scope(n: string, body: Aml[]): Aml {
  const inner = [...nameString(n), ...body.flat()];
  return [0x10, ...pkgLength(inner.length), ...inner];
}

export function device(n: string, body: Aml[]): Aml {
  const inner = [...nameString(n), ...body.flat()];
  return [0x5b, 0x82, ...pkgLength(inner.length), ...inner];
}

export function pkg(elements: Aml[]): Aml {
  if (elements.length > 255) throw new RangeError('AML package with more than 255 elements');
  const inner = [elements.length, ...elements.flat()];
  return [0x12, ...pkgLength(inner.length), ...inner];
}

export function buffer(bytes: number[]): Aml {
  const inner = [...integer(bytes.length), ...bytes];
  return [0x11, ...pkgLength(inner.length), ...inner];
}

/** Method with no arguments returning a constant term. */
export function methodReturning(n: string, value: Aml): Aml {
  const inner = [...nameString(n), 0x00, 0xa4, ...value];
  return [0x14, ...pkgLength(inner.length), ...inner];
}

// ---- resource template descriptors (ACPI 6.4.2 / 6.4.3) ----

const u16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

export const res = {
  /** IO(Decode16, min, max=min, align 1, length) */
  io(base: number, length: number): number[] { return [0x47, 0x01, ...u16(base), ...u16(base), 0x01, length]; },
  irq(...irqs: number[]): number[] {
    let mask = 0;
    for (const i of irqs) mask |= 1 << i;
    return [0x22, ...u16(mask)];
  },
  dma(channel: number): number[] { return [0x2a, 1 << channel, 0x00]; },
  wordBus(min: number, max: number): number[] {
    return [0x88, ...u16(13), 0x02, 0x0c, 0x00, ...u16(0), ...u16(min), ...u16(max), ...u16(0), ...u16(max - min + 1)];
  },
  wordIo(min: number, max: number): number[] {
    return [0x88, ...u16(13), 0x01, 0x0c, 0x03, ...u16(0), ...u16(min), ...u16(max), ...u16(0), ...u16(max - min + 1)];
  },
  dwordMemory(min: number, max: number): number[] {
    return [0x87, ...u16(23), 0x00, 0x0c, 0x03, ...u32(0), ...u32(min), ...u32(max), ...u32(0), ...u32(max - min + 1)];
  },
  template(...descs: number[][]): Aml { return buffer([...descs.flat(), 0x79, 0x00]); },
};
