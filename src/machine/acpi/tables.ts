/**
 * ACPI tables for the `pc` machine, handed to SeaBIOS through fw_cfg with the
 * BIOS linker/loader (files `etc/acpi/tables`, `etc/acpi/rsdp` and the
 * command list `etc/table-loader`), as QEMU does. SeaBIOS no longer builds
 * tables itself, and its presence of `etc/table-loader` also moves the PIIX4
 * PM I/O base to 0x600.
 *
 * Tables: RSDP (ACPI 1.0), RSDT, FADT (revision 1), FACS, DSDT, and a MADT when
 * the machine has a local APIC and IO-APIC. SMI_CMD is 0, so the OS treats the
 * machine as already in ACPI mode (no SMM needed). The DSDT describes the PCI
 * root (static _PRT matching SeaBIOS's PIIX PIRQ setup: A,B -> 10, C,D -> 11),
 * the ISA devices (keyboard, mouse, COM1, RTC, floppy: SeaBIOS itself looks
 * for the keyboard's PNP0303 before initialising PS/2) and \_S5 with SLP_TYP 0,
 * the value the PIIX4 PM treats as soft-off.
 */
import * as aml from './aml.js';

export const ACPI_PM_BASE = 0x600;
export const ACPI_SCI_IRQ = 9;
/** Host IRQs SeaBIOS routes PCI INTA..D (PIRQ A..D) to. */
export const PCI_IRQS = [10, 10, 11, 11];

export interface AcpiConfig {
  /** RAM below 4 GiB, bytes (start of the PCI hole). */
  belowFourGiB: number;
  cpus: number;
  /** Describe the local APIC / IO-APIC in a MADT. */
  apic: boolean;
  serialPorts: number[];
  floppy: boolean;
}

export interface AcpiFiles {
  tables: Uint8Array;
  rsdp: Uint8Array;
  loader: Uint8Array;
}

function header(sig: string, length: number, revision: number, oemTable: string): number[] {
  const h = new Array<number>(36).fill(0);
  for (let i = 0; i < 4; i++) h[i] = sig.charCodeAt(i);
  h[4] = length & 0xff; h[5] = (length >>> 8) & 0xff; h[6] = (length >>> 16) & 0xff; h[7] = length >>> 24;
  h[8] = revision;
  const ascii = (s: string, at: number, n: number) => { for (let i = 0; i < n; i++) h[at + i] = i < s.length ? s.charCodeAt(i) : 0x20; };
  ascii('BOCHS ', 10, 6);
  ascii(oemTable, 16, 8);
  h[24] = 1; // OEM revision
  ascii('BXPC', 28, 4);
  h[32] = 1; // creator revision
  return h;
}

function table(sig: string, revision: number, oemTable: string, body: number[]): number[] {
  return [...header(sig, 36 + body.length, revision, oemTable), ...body];
}

const u16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

export function buildDsdt(cfg: AcpiConfig): number[] {
  const prt: aml.Aml[] = [];
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      prt.push(aml.pkg([aml.integer(((slot << 16) | 0xffff) >>> 0), aml.integer(pin), aml.integer(0), aml.integer(PCI_IRQS[(pin + slot - 1) & 3]!)]));
    }
  }
  // 124 entries: fits the one-byte element count.
  const isa: aml.Aml[] = [
    aml.name('_ADR', aml.integer(0x00010000)),
    aml.device('KBD', [aml.name('_HID', aml.eisaId('PNP0303')), aml.name('_CRS', aml.res.template(aml.res.io(0x60, 1), aml.res.io(0x64, 1), aml.res.irq(1)))]),
    aml.device('MOU', [aml.name('_HID', aml.eisaId('PNP0F13')), aml.name('_CRS', aml.res.template(aml.res.irq(12)))]),
    aml.device('RTC', [aml.name('_HID', aml.eisaId('PNP0B00')), aml.name('_CRS', aml.res.template(aml.res.io(0x70, 2), aml.res.irq(8)))]),
  ];
  const comIrq = [4, 3, 4, 3], comBase = [0x3f8, 0x2f8, 0x3e8, 0x2e8];
  for (const i of cfg.serialPorts) {
    isa.push(aml.device(`COM${i + 1}`, [aml.name('_HID', aml.eisaId('PNP0501')), aml.name('_UID', aml.integer(i + 1)),
      aml.name('_CRS', aml.res.template(aml.res.io(comBase[i]!, 8), aml.res.irq(comIrq[i]!)))]));
  }
  if (cfg.floppy) {
    isa.push(aml.device('FDC0', [aml.name('_HID', aml.eisaId('PNP0700')),
      aml.name('_CRS', aml.res.template(aml.res.io(0x3f2, 4), aml.res.io(0x3f7, 1), aml.res.irq(6), aml.res.dma(2)))]));
  }
  const pci0 = aml.device('PCI0', [
    aml.name('_HID', aml.eisaId('PNP0A03')),
    aml.name('_ADR', aml.integer(0)),
    aml.name('_UID', aml.integer(0)),
    aml.name('_CRS', aml.res.template(
      aml.res.wordBus(0, 0xff),
      aml.res.io(0xcf8, 8),
      aml.res.wordIo(0x0000, 0x0cf7),
      aml.res.wordIo(0x0d00, 0xffff),
      aml.res.dwordMemory(0xa0000, 0xbffff),
      aml.res.dwordMemory(cfg.belowFourGiB, 0xfebfffff),
    )),
    aml.name('_PRT', aml.pkg(prt)),
    aml.device('ISA', isa),
  ]);
  const body = [
    ...aml.scope('\\_SB', [pci0]),
    ...aml.name('\\_S5', aml.pkg([aml.integer(0), aml.integer(0), aml.integer(0), aml.integer(0)])),
  ];
  return table('DSDT', 1, 'BXDSDT', body);
}

function buildFadt(): number[] {
  const b = new Array<number>(116 - 36).fill(0);
  const put32 = (off: number, v: number) => { const x = u32(v); for (let i = 0; i < 4; i++) b[off - 36 + i] = x[i]!; };
  const put16 = (off: number, v: number) => { const x = u16(v); b[off - 36] = x[0]!; b[off - 36 + 1] = x[1]!; };
  // FIRMWARE_CTRL (36) and DSDT (40) are patched by the loader.
  b[44 - 36] = 1; // INT_MODEL
  put16(46, ACPI_SCI_IRQ);
  put32(48, 0); // SMI_CMD: none, already in ACPI mode
  put32(56, ACPI_PM_BASE); // PM1a_EVT_BLK
  put32(64, ACPI_PM_BASE + 4); // PM1a_CNT_BLK
  put32(76, ACPI_PM_BASE + 8); // PM_TMR_BLK
  b[88 - 36] = 4; // PM1_EVT_LEN
  b[89 - 36] = 2; // PM1_CNT_LEN
  b[91 - 36] = 4; // PM_TMR_LEN
  put16(96, 0xfff); // P_LVL2_LAT: C2 unsupported
  put16(98, 0xfff); // P_LVL3_LAT: C3 unsupported
  b[108 - 36] = 0x32; // CENTURY: CMOS index
  // Flags: WBINVD | PROC_C1 | SLP_BUTTON (no sleep button) | RTC_S4
  put32(112, (1 << 0) | (1 << 2) | (1 << 5) | (1 << 7));
  return table('FACP', 1, 'BXPCFACP', b);
}

function buildFacs(): number[] {
  const b = new Array<number>(64).fill(0);
  'FACS'.split('').forEach((c, i) => { b[i] = c.charCodeAt(0); });
  b[4] = 64;
  return b;
}

function buildMadt(cfg: AcpiConfig): number[] {
  const body: number[] = [...u32(0xfee00000), ...u32(1)];
  for (let i = 0; i < cfg.cpus; i++) body.push(0, 8, i, i, ...u32(1));
  body.push(1, 12, cfg.cpus, 0, ...u32(0xfec00000), ...u32(0));
  // ISA IRQ0 -> GSI 2; SCI and PCI IRQs are level-triggered, active high.
  body.push(2, 10, 0, 0, ...u32(2), ...u16(0));
  for (const irq of [5, ACPI_SCI_IRQ, 10, 11]) body.push(2, 10, 0, irq, ...u32(irq), ...u16(0x0d));
  return table('APIC', 1, 'BXPCAPIC', body);
}

// ---- BIOS linker/loader commands ----
const LOADER_ENTRY = 128;
const TABLES = 'etc/acpi/tables';
const RSDP = 'etc/acpi/rsdp';

class LoaderScript {
  private readonly entries: Uint8Array[] = [];
  private entry(cmd: number): Uint8Array { const e = new Uint8Array(LOADER_ENTRY); e[0] = cmd; this.entries.push(e); return e; }
  private static putName(e: Uint8Array, at: number, s: string) { for (let i = 0; i < s.length; i++) e[at + i] = s.charCodeAt(i); }
  private static put32(e: Uint8Array, at: number, v: number) { e.set(u32(v), at); }
  allocate(file: string, align: number, zone: 'high' | 'fseg'): void {
    const e = this.entry(1); LoaderScript.putName(e, 4, file); LoaderScript.put32(e, 60, align); e[64] = zone === 'high' ? 1 : 2;
  }
  addPointer(dest: string, src: string, offset: number, size: number): void {
    const e = this.entry(2); LoaderScript.putName(e, 4, dest); LoaderScript.putName(e, 60, src); LoaderScript.put32(e, 116, offset); e[120] = size;
  }
  addChecksum(file: string, offset: number, start: number, length: number): void {
    const e = this.entry(3); LoaderScript.putName(e, 4, file); LoaderScript.put32(e, 60, offset); LoaderScript.put32(e, 64, start); LoaderScript.put32(e, 68, length);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.entries.length * LOADER_ENTRY);
    this.entries.forEach((e, i) => out.set(e, i * LOADER_ENTRY));
    return out;
  }
}

export function buildAcpi(cfg: AcpiConfig): AcpiFiles {
  const blob: number[] = [];
  const place = (t: number[], align = 1) => { while (blob.length % align) blob.push(0); const at = blob.length; blob.push(...t); return at; };
  const facs = place(buildFacs(), 64);
  const dsdt = place(buildDsdt(cfg));
  const fadt = place(buildFadt());
  const others = [fadt];
  if (cfg.apic) others.push(place(buildMadt(cfg)));
  const rsdtBody: number[] = [];
  for (const off of others) rsdtBody.push(...u32(off));
  const rsdt = place(table('RSDT', 1, 'BXPCRSDT', rsdtBody));

  // Pointers hold offsets within etc/acpi/tables; the loader adds the table's address.
  const setU32 = (at: number, v: number) => { const x = u32(v); for (let i = 0; i < 4; i++) blob[at + i] = x[i]!; };
  setU32(fadt + 36, facs);
  setU32(fadt + 40, dsdt);

  const rsdp = new Uint8Array(20);
  'RSD PTR '.split('').forEach((c, i) => { rsdp[i] = c.charCodeAt(0); });
  'BOCHS '.split('').forEach((c, i) => { rsdp[9 + i] = c.charCodeAt(0); });
  rsdp[15] = 0; // revision 0 (ACPI 1.0)
  rsdp.set(u32(rsdt), 16);

  const ld = new LoaderScript();
  ld.allocate(RSDP, 16, 'fseg');
  ld.allocate(TABLES, 64, 'high');
  ld.addPointer(TABLES, TABLES, fadt + 36, 4);
  ld.addPointer(TABLES, TABLES, fadt + 40, 4);
  others.forEach((_, i) => ld.addPointer(TABLES, TABLES, rsdt + 36 + 4 * i, 4));
  ld.addPointer(RSDP, TABLES, 16, 4);
  const sum = (off: number) => ld.addChecksum(TABLES, off + 9, off, blob[off + 4]! | (blob[off + 5]! << 8) | (blob[off + 6]! << 16));
  sum(dsdt); sum(fadt); if (cfg.apic) sum(others[1]!); sum(rsdt);
  ld.addChecksum(RSDP, 8, 0, 20);
  return { tables: Uint8Array.from(blob), rsdp, loader: ld.bytes() };
}
