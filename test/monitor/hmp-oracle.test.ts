/**
 * The same monitor commands on real qemu-system-i386 and on qemu-ts, with the
 * test guest stopped at its final HLT: outputs must match byte for byte
 * (after normalising what legitimately differs: node names, qdev paths).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { qemuMonitor, startMachine, testBios, TMP, waitFor, type OurMachine } from './helpers.js';

const COMMANDS = [
  'info status',
  'x /4xw 0x500', 'xp /8xb 0x500', 'x /3dw 0x500', 'x /2uh 0x500', 'x /2oh 0x500', 'x /16cb 0x500',
  'x /2xg 0x500', 'x 0x500', 'x /20xb 0xffff0', 'x /10xw 0xffff0', 'x /5dg 0xffff0', 'x /3xh 0xffff0',
  'x /c 0x508', 'x /2 0x508', 'x/2dw 0x504', 'x /3xw 0xa0000000', 'x /4xb 0x9ffff000',
  'p $eax', 'p/x $ebx + 3', 'print 10', 'p/d 0x10', 'p $cs', 'p 1+2*3', 'p/x -1', 'p $eflags',
  'p $esi', 'p/x $esi', 'p/u $esi', 'p $ecx', 'p $pc', 'p $sp', 'p $eip',
  'p/c 65', 'p/o 8', 'p/u -1', 'p (3-5)*2', 'p 7%3 | 8', 'p ~0 & 0xff', "p 'a'", 'p/c 10',
  'p $ax', 'p 5/0', 'p $foo', 'p (1', 'p 010', 'p 1 2', 'x /4z 0x500',
  'info foo', 'foo', 'info snapshots', 'info tlb', 'info mem', 'info vnc',
];

let ours: OurMachine;
let oursOut: string[] = [];
let qemuOut: string[] = [];
const ARGS = () => ['-bios', testBios(), '-S', '-M', 'isapc', '-m', '16', '-nodefaults', '-vga', 'none'];

beforeAll(async () => {
  qemuOut = await qemuMonitor(ARGS(), ['cont'], ['stop', ...COMMANDS]);
  qemuOut.shift();
  ours = await startMachine(ARGS());
  await ours.hmp.run('cont');
  await waitFor(() => ours.m.cpu.halted, 20000, 'the test guest to halt');
  await ours.hmp.run('stop');
  for (const c of COMMANDS) oursOut.push(await ours.hmp.run(c));
}, 60000);

afterAll(async () => { await ours?.stop(); });

describe('HMP output matches qemu-system-i386 7.2', () => {
  it('ran every command on both', () => {
    expect(qemuOut.length).toBe(COMMANDS.length);
    expect(oursOut.length).toBe(COMMANDS.length);
  });
  COMMANDS.forEach((c, i) => {
    it(c, () => { expect(oursOut[i]).toBe(qemuOut[i]); });
  });
});

describe('HMP commands with side effects match QEMU', () => {
  it('memsave and pmemsave write the same bytes as QEMU', async () => {
    // Relative paths: QEMU parses "size /path" as a division, as the next test shows.
    const rel = (f: string) => relative(process.cwd(), join(TMP, f));
    const a = rel('ours-m.bin'), b = rel('ours-p.bin'), qa = rel('qemu-m.bin'), qb = rel('qemu-p.bin');
    await qemuMonitor(ARGS(), ['cont'], ['stop', `memsave 0x500 32 ${qa}`, `pmemsave 0xffff0 16 ${qb}`]);
    expect(await ours.hmp.run(`memsave 0x500 32 ${a}`)).toBe('');
    expect(await ours.hmp.run(`pmemsave 0xffff0 16 ${b}`)).toBe('');
    const rd = (f: string) => execFileSync('od', ['-An', '-tx1', f]).toString();
    expect(rd(a)).toBe(rd(qa));
    expect(rd(b)).toBe(rd(qb));
    expect(rd(a)).toContain('78 56 34 12 ef be ad de');
  });

  it('memsave parses its expressions greedily like QEMU (a path starting with / is divided)', async () => {
    const q = await qemuMonitor(ARGS(), [], [`memsave 0 16 ${TMP}/x.bin`]);
    expect(await ours.hmp.run(`memsave 0 16 ${TMP}/x.bin`)).toBe(q[0]);
  });

  it('info block lists the drives as QEMU does', async () => {
    const img = join(TMP, 'd.img'), iso = join(TMP, 'c.iso');
    execFileSync('qemu-img', ['create', '-f', 'qcow2', img, '1M']);
    writeFileSync(iso, new Uint8Array(2048 * 16));
    const args = ['-bios', testBios(), '-S', '-nodefaults', '-vga', 'none', '-drive', `file=${img},if=ide,index=0,format=qcow2`,
      '-drive', `file=${iso},if=ide,index=2,media=cdrom,format=raw`];
    const q = await qemuMonitor(args, [], ['info block', 'eject ide1-cd0', 'info block', `change ide1-cd0 ${iso}`, 'info block', 'eject ide0-hd0']);
    const m = await startMachine(args);
    try {
      const o: string[] = [];
      for (const c of ['info block', 'eject ide1-cd0', 'info block', `change ide1-cd0 ${iso}`, 'info block', 'eject ide0-hd0']) o.push(await m.hmp.run(c));
      const norm = (s: string) => s.replace(/ \(#block\d+\)/g, '').replace(/device\[\d+\]/g, 'device[N]').replace(/\n\nsd0:[^]*$/, '\n');
      expect(o.map(norm)).toEqual(q.map(norm));
      expect(o[0]).toContain(`ide0-hd0`);
    } finally { await m.stop(); }
  }, 30000);
});
