import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAcpi, buildDsdt } from '../../src/machine/acpi/tables.js';

/** Run the linker/loader script the way SeaBIOS does, with chosen load addresses. */
function runLoader(files: { tables: Uint8Array; rsdp: Uint8Array; loader: Uint8Array }, base: Record<string, number>) {
  const data: Record<string, Uint8Array> = { 'etc/acpi/tables': files.tables.slice(), 'etc/acpi/rsdp': files.rsdp.slice() };
  const str = (e: Uint8Array, at: number) => { let s = ''; for (let i = at; i < at + 56 && e[i] !== 0; i++) s += String.fromCharCode(e[i]!); return s; };
  const rd32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
  const wr32 = (b: Uint8Array, o: number, v: number) => { b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24; };
  const allocated: string[] = [];
  for (let i = 0; i < files.loader.length; i += 128) {
    const e = files.loader.subarray(i, i + 128);
    const cmd = rd32(e, 0);
    if (cmd === 1) allocated.push(str(e, 4));
    else if (cmd === 2) {
      const dest = str(e, 4), src = str(e, 60), off = rd32(e, 116);
      expect(allocated).toContain(dest); expect(allocated).toContain(src); expect(e[120]).toBe(4);
      wr32(data[dest]!, off, rd32(data[dest]!, off) + base[src]!);
    } else if (cmd === 3) {
      const f = data[str(e, 4)]!, off = rd32(e, 60), start = rd32(e, 64), len = rd32(e, 68);
      let s = 0; for (let k = start; k < start + len; k++) s += f[k]!;
      f[off] = (f[off]! - s) & 0xff;
    } else throw new Error(`unexpected loader command ${cmd}`);
  }
  return data;
}

describe('ACPI tables', () => {
  const cfg = { belowFourGiB: 256 << 20, cpus: 1, apic: true, serialPorts: [0], floppy: true };

  it('links into checksummed tables reachable from the RSDP', () => {
    const files = buildAcpi(cfg);
    const base = { 'etc/acpi/tables': 0x0fffa000, 'etc/acpi/rsdp': 0xf5a40 };
    const d = runLoader(files, base);
    const rsdp = d['etc/acpi/rsdp']!, t = d['etc/acpi/tables']!;
    const sum = (b: Uint8Array, a: number, n: number) => { let s = 0; for (let i = a; i < a + n; i++) s += b[i]!; return s & 0xff; };
    expect(sum(rsdp, 0, 20)).toBe(0);
    const rd32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
    const rsdt = rd32(rsdp, 16) - base['etc/acpi/tables'];
    const sig = (o: number) => String.fromCharCode(...t.subarray(o, o + 4));
    expect(sig(rsdt)).toBe('RSDT');
    const n = (rd32(t, rsdt + 4) - 36) / 4;
    const sigs: string[] = [];
    for (let i = 0; i < n; i++) {
      const o = rd32(t, rsdt + 36 + 4 * i) - base['etc/acpi/tables'];
      sigs.push(sig(o));
      expect(sum(t, o, rd32(t, o + 4))).toBe(0);
      if (sig(o) === 'FACP') {
        expect(sig(rd32(t, o + 36) - base['etc/acpi/tables'])).toBe('FACS');
        const dsdt = rd32(t, o + 40) - base['etc/acpi/tables'];
        expect(sig(dsdt)).toBe('DSDT');
        expect(sum(t, dsdt, rd32(t, dsdt + 4))).toBe(0);
      }
    }
    expect(sigs).toEqual(['FACP', 'APIC']);
  });

  it('DSDT disassembles cleanly with iasl and declares the devices SeaBIOS and Linux look for', () => {
    if (!existsSync('/usr/bin/iasl')) return expect.fail('iasl missing: apt-get install acpica-tools');
    const dir = mkdtempSync(join(tmpdir(), 'qemu-ts-acpi-'));
    try {
      const dsdt = Uint8Array.from(buildDsdt(cfg));
      let s = 0; for (const b of dsdt) s += b; dsdt[9] = (-s) & 0xff;
      writeFileSync(join(dir, 'dsdt.aml'), dsdt);
      const out = execFileSync('iasl', ['-d', join(dir, 'dsdt.aml')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).not.toMatch(/error/i);
      const dsl = readFileSync(join(dir, 'dsdt.dsl'), 'utf8');
      for (const needle of ['EisaId ("PNP0A03")', 'EisaId ("PNP0303")', 'EisaId ("PNP0F13")', 'EisaId ("PNP0501")', 'EisaId ("PNP0B00")', 'EisaId ("PNP0700")', 'Name (\\_S5, Package (0x04)', 'Name (_PRT, Package (0x7C)', 'DWordMemory']) {
        expect(dsl).toContain(needle);
      }
      // Re-compile the disassembly: a well-formed table round-trips.
      execFileSync('iasl', ['-p', join(dir, 'again'), join(dir, 'dsdt.dsl')], { stdio: 'ignore' });
      expect(existsSync(join(dir, 'again.aml'))).toBe(true);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
