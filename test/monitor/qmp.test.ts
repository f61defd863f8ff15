/**
 * QMP: the same JSON script against real `qemu-system-i386 -qmp stdio` and
 * against qemu-ts's QmpServer; replies and events must match after
 * normalising timestamps, version numbers and host-specific names.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { MemoryChar } from '../../src/chardev/types.js';
import { QmpServer } from '../../src/monitor/qmp.js';
import { JsonStream, type JsonItem } from '../../src/monitor/json-stream.js';
import { startMachine, testBios, TMP, waitFor } from './helpers.js';

const img = join(TMP, 'qmp-d.img'), iso = join(TMP, 'qmp-c.iso');
const ARGS = () => ['-bios', testBios(), '-S', '-nodefaults', '-vga', 'std',
  '-drive', `file=${img},if=ide,index=0,format=raw`, '-drive', `file=${iso},if=ide,index=2,media=cdrom,format=raw`];

const SCRIPT = [
  '{"execute":"query-status"}',
  '{"execute":"qmp_capabilities"}',
  '{"execute":"qmp_capabilities"}',
  '{"execute":"query-status"}',
  '{"execute":"stop"}',
  '{"execute":"cont","id":7}',
  '{"execute":"query-status","id":"x"}',
  '{"execute":"stop"}',
  '{"execute":"query-status"}',
  '{"execute":"query-version"}',
  'garbage',
  '{"foo":1}',
  '{"arguments":{}}',
  '{"execute":1}',
  '{"execute":"stop","arguments":[]}',
  '[1,2]',
  '{"execute":"nope"}',
  '{"execute":"query-block"}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"x /2xw 0x500"}}',
  '{"execute":"human-monitor-command"}',
  '{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"a"}]}}',
  '{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"ctrl"},{"type":"number","data":30}],"hold-time":50}}',
  '{"execute":"eject","arguments":{"device":"ide1-cd0"}}',
  '{"execute":"query-block"}',
  '{"execute":"eject","arguments":{"device":"ide0-hd0"}}',
  '{"execute":"eject","arguments":{"device":"nosuch"}}',
  `{"execute":"blockdev-change-medium","arguments":{"device":"ide1-cd0","filename":"${iso}","format":"raw"}}`,
  '{"execute":"stop","arguments":{"x":1}}',
  '{"execute":"eject","arguments":{"device":5}}',
  '{"execute":"system_reset"}',
  '{"execute":"system_powerdown"}',
  `{"execute":"screendump","arguments":{"filename":"${join(TMP, 'qmp.ppm')}"}}`,
  '{"execute":"quit"}',
];

function normalise(lines: string[]): string[] {
  return lines
    .map((l) => l.replace(/"seconds": \d+, "microseconds": \d+/, '"seconds": S, "microseconds": U')
      .replace(/\{"micro": \d+, "minor": \d+, "major": \d+\}, "package": "[^"]*"/g, '{"micro": M, "minor": 2, "major": 7}, "package": P')
      .replace(/#block\d+/g, '#blockN').replace(/device\[\d+\]/g, 'device[N]').replace(/"actual-size": \d+, /g, '')
      .replace(/, \{"device": "sd0"[^}]*\}/, ''))
    .filter((l) => l !== '');
}

async function realQmp(): Promise<string[]> {
  const p = spawn('qemu-system-i386', [...ARGS(), '-qmp', 'stdio', '-display', 'none'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  const lines = () => out.split('\n').length;
  await waitFor(() => out.includes('"QMP"'), 10000, 'the QMP greeting');
  for (const l of SCRIPT) {
    const before = lines();
    p.stdin.write(l + '\n');
    await waitFor(() => lines() > before, 10000, `a reply to ${l}`).catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
  }
  await exited;
  return out.split('\r\n').filter((x) => x !== '');
}

describe('QMP', () => {
  it('answers a script like qemu-system-i386 7.2 (greeting, negotiation, errors, commands, events)', async () => {
    execFileSync('qemu-img', ['create', '-f', 'raw', img, '1M']);
    writeFileSync(iso, new Uint8Array(2048 * 16));
    const q = await realQmp();
    const ours = await startMachine(ARGS());
    const chr = new MemoryChar();
    const qmp = new QmpServer(chr, ours.target, { hmp: (l) => ours.hmp.run(l) });
    try {
      for (const l of SCRIPT) { chr.feed(l + '\n'); await qmp.idle(); await new Promise((r) => setTimeout(r, 5)); }
      await ours.done;
      const o = chr.text().split('\r\n').filter((x) => x !== '');
      expect(normalise(o)).toEqual(normalise(q));
      expect(existsSync(join(TMP, 'qmp.ppm'))).toBe(true);
      expect(readFileSync(join(TMP, 'qmp.ppm')).subarray(0, 2).toString()).toBe('P6');
    } finally { qmp.close(); }
  }, 60000);

  it('survives garbage: bounded values, deep nesting, binary noise, and keeps serving', async () => {
    const ours = await startMachine(['-bios', testBios(), '-S', '-nodefaults', '-vga', 'none']);
    const chr = new MemoryChar();
    const qmp = new QmpServer(chr, ours.target);
    try {
      chr.feed('{"execute":"qmp_capabilities"}\n');
      chr.feed('{"execute":"x","arguments":{"a":"' + 'x'.repeat(2 << 20) + '"}}\n');
      chr.feed('['.repeat(5000) + '\n');
      const noise = new Uint8Array(4096);
      for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) & 0xff;
      chr.feed(noise);
      chr.feed('\n{"execute":"query-status"}\n');
      await qmp.idle();
      const text = chr.text();
      expect(text).toContain('input too large');
      expect(text).toContain('nesting too deep');
      expect(text.trim().split('\r\n').pop()).toBe('{"return": {"status": "prelaunch", "singlestep": false, "running": false}}');
    } finally { qmp.close(); await ours.stop(); }
  }, 30000);

  it('splits a stream into values without newlines, like QEMU\'s lexer', () => {
    const got: JsonItem[] = [];
    const s = new JsonStream((i) => got.push(i));
    s.push(new TextEncoder().encode('{"a":"}{"}{"b":[1,{"c":2}]} 42 nope{'));
    s.push(new TextEncoder().encode('}'));
    expect(got).toEqual([
      { ok: true, value: { a: '}{' } },
      { ok: true, value: { b: [1, { c: 2 }] } },
      { ok: false, error: 'QMP input must be a JSON object' },
      { ok: false, error: "JSON parse error, invalid keyword 'nope'" },
      { ok: true, value: {} },
    ]);
  });
});
