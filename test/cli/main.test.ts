/** The qemu-ts-system-x86_64 entry point: exit codes and what goes to stdout/stderr. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/system/main.js';
import { scratch } from './helpers.js';

const dir = scratch();

async function runMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, out, err };
}

afterEach(() => vi.restoreAllMocks());

describe('main', () => {
  it('-dump-machine prints the JSON description and exits 0 (also --dump-machine)', async () => {
    const r = await runMain(['-M', 'isapc', '-hda', `${dir}/xp.img`, '-m', '64', '--dump-machine']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect(d.machine.type).toBe('isapc');
    expect(d.memory.sizeBytes).toBe(64 << 20);
    expect(d.drives[0].file).toBe(`${dir}/xp.img`);
    expect(d.firmware.biosPath).toMatch(/bios\.bin$/);
    // The raw-probing warning goes to stderr, unprefixed, as QEMU prints it.
    expect(r.err.startsWith(`WARNING: Image format was not specified for '${dir}/xp.img' and probing guessed raw.\n`)).toBe(true);
  });

  it('a bad line: one QEMU-style error on stderr, exit 1, nothing on stdout', async () => {
    const r = await runMain(['-m', '1024X', '-dump-machine']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n')[0]).toBe("qemu-ts-system-x86_64: -m 1024X: Parameter 'size' expects a non-negative number below 2^64");
  });

  it('warnings are program-prefixed', async () => {
    const r = await runMain(['-localtime', '-nodefaults', '-dump-machine']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('qemu-ts-system-x86_64: -localtime: warning: deprecated option (not in current QEMU); use -rtc base=localtime\n');
  });

  it('without -dump-machine the machine runs: a firmware that writes to isa-debug-exit ends it with (v << 1) | 1', async () => {
    // A 64 KiB "BIOS": at the reset vector F000:FFF0, mov al,0x10 / out 0xf4,al / hlt.
    const rom = new Uint8Array(65536).fill(0xf4);
    rom.set([0xb0, 0x10, 0xe6, 0xf4, 0xf4], 0xfff0);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/exit.rom`, rom);
    const r = await runMain(['-nodefaults', '-display', 'none', '-bios', `${dir}/exit.rom`,
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4']);
    expect(r.code).toBe((0x10 << 1) | 1);
    expect(r.out).toBe('');
  });

  it('-version and -M help print to stdout and exit 0', async () => {
    const v = await runMain(['-version']);
    expect([v.code, v.err]).toEqual([0, '']);
    expect(v.out).toMatch(/^QEMU emulator version 7\.2\.0 \(qemu-ts /);
    const m = await runMain(['-M', 'help']);
    expect(m.code).toBe(0);
    expect(m.out).toMatch(/^Supported machines are:\npc +Standard PC \(i440FX \+ PIIX, 1996\) \(alias of pc-i440fx-7\.2\)\n/);
  });

  it('-writeconfig - prints the option groups in config-file form, -readconfig reads them back', async () => {
    const r = await runMain(['-writeconfig', '-', '-M', 'isapc', '-m', '32', '-drive', `file=${dir}/disk.img,format=raw,if=ide,id=d0`, '-nodefaults', '-dump-machine']);
    expect(r.code).toBe(0);
    const cfg = r.out.slice(0, r.out.indexOf('{'));
    expect(cfg).toContain('[machine]\n  type = "isapc"');
    expect(cfg).toContain(`[drive "d0"]\n  file = "${dir}/disk.img"`);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/w.cfg`, cfg);
    const back = await runMain(['-readconfig', `${dir}/w.cfg`, '-nodefaults', '-dump-machine']);
    const d = JSON.parse(back.out);
    expect([d.machine.type, d.memory.sizeBytes, d.drives[0].id, d.drives[0].format]).toEqual(['isapc', 32 << 20, 'd0', 'raw']);
  });
});
