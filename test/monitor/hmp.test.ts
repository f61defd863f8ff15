/**
 * HMP commands with effects on the machine (state checked on the devices
 * themselves), QMP events caused by them, the mux focus behaviour of
 * -nographic (banner and prompt when Ctrl-A c gives the monitor the focus,
 * as QEMU 7.2 prints them), and the prompt/line editing on a chardev.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryChar } from '../../src/chardev/types.js';
import { MuxChar } from '../../src/chardev/mux.js';
import { HumanMonitor, type MonitorTarget } from '../../src/monitor/hmp.js';
import { startMachine, testBios, TMP, waitFor, type OurMachine } from './helpers.js';

let ours: OurMachine;
const events: string[] = [];
let logItems: string[] | null = null;
let vncPw: string | null = null;

beforeAll(async () => {
  ours = await startMachine(['-bios', testBios(), '-S', '-vga', 'std'], {
    setLog: (i) => { logItems = i; },
    vncPassword: (p) => { vncPw = p; },
  });
  ours.target.onEvent((e, d) => events.push(d ? `${e} ${JSON.stringify(d)}` : e));
}, 30000);
afterAll(async () => { await ours?.stop(); });

describe('HMP on a PC', () => {
  it('prints the banner and prompt at start on a plain chardev', () => {
    expect(ours.chr.text()).toBe("QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ");
  });

  it('echoes typed characters, handles backspace and runs the line on Enter', async () => {
    ours.chr.chunks.length = 0;
    ours.chr.feed('info statux\x7fs\r');
    await ours.hmp.idle();
    expect(ours.chr.text()).toBe('info statux\b \bs\r\nVM status: paused (prelaunch)\r\n(qemu) ');
  });

  it('cont / stop change the run state and send RESUME / STOP events', async () => {
    events.length = 0;
    await ours.hmp.run('cont');
    expect(await ours.hmp.run('info status')).toBe('VM status: running\n');
    await waitFor(() => ours.m.cpu.halted, 20000, 'the guest to halt');
    await ours.hmp.run('stop');
    expect(await ours.hmp.run('info status')).toBe('VM status: paused\n');
    await ours.hmp.run('stop');
    expect(events).toEqual(['RESUME', 'STOP']);
    expect(await ours.hmp.run('p/x $ecx')).toBe('0x3e8\n');
  });

  it('sendkey puts scan codes into the keyboard controller (set 1 through the 8042 translation)', async () => {
    expect(await ours.hmp.run('sendkey foo')).toBe('invalid parameter: foo\n');
    expect(await ours.hmp.run('sendkey ctrl-a 10')).toBe('');
    const codes: number[] = [];
    for (let i = 0; i < 4 && (ours.m.io.read(0x64, 1) & 1) !== 0; i++) codes.push(ours.m.io.read(0x60, 1));
    expect(codes.slice(0, 2)).toEqual([0x1d, 0x1e]); // make codes of ctrl and a
  });

  it('boot_set rewrites the CMOS boot order as QEMU encodes it', async () => {
    expect(await ours.hmp.run('boot_set dc')).toBe('boot device list now set to dc\n');
    expect(ours.m.rtc.cmos[0x3d]).toBe(0x23);
    expect(await ours.hmp.run('boot_set x')).toBe("Invalid boot device for PC: 'x'\n");
  });

  it('log enables -d items; unknown items list the valid ones', async () => {
    expect(await ours.hmp.run('log int,cpu')).toBe('');
    expect(logItems).toEqual(['int', 'cpu']);
    expect(await ours.hmp.run('log none')).toBe('');
    expect(logItems).toEqual([]);
    const out = await ours.hmp.run('log foo');
    expect(out.startsWith('Log items (comma separated):\nnone            remove all logs\n')).toBe(true);
  });

  it('change vnc password takes the password as argument or from the next line', async () => {
    expect(await ours.hmp.run('change vnc password secret')).toBe('');
    expect(vncPw).toBe('secret');
    ours.chr.chunks.length = 0;
    ours.chr.feed('change vnc password\r');
    await ours.hmp.idle();
    ours.chr.feed('abc\r');
    await ours.hmp.idle();
    expect(vncPw).toBe('abc');
    expect(ours.chr.text()).toBe('change vnc password\r\nPassword: ***\r\n(qemu) ');
  });

  it('screendump writes PPM and PNG files', async () => {
    const ppm = join(TMP, 'hmp.ppm'), png = join(TMP, 'hmp.png');
    expect(await ours.hmp.run(`screendump ${ppm}`)).toBe('');
    expect(await ours.hmp.run(`screendump ${png} -f png`)).toBe('');
    expect(readFileSync(ppm).subarray(0, 3).toString()).toBe('P6\n');
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(await ours.hmp.run(`screendump ${png} -f gif`)).toBe("Parameter 'format' does not accept value 'gif'\n");
  });

  it('system_reset resets the CPU and sends RESET; system_powerdown sends POWERDOWN', async () => {
    events.length = 0;
    await ours.hmp.run('system_reset');
    expect(await ours.hmp.run('p/x $eip')).toBe('0xfff0\n');
    await ours.hmp.run('system_powerdown');
    expect(events).toEqual(['RESET {"guest":false,"reason":"host-qmp-system-reset"}', 'POWERDOWN']);
  });

  it('mouse_move and mouse_button reach the PS/2 mouse; info pic shows both 8259s', async () => {
    expect(await ours.hmp.run('mouse_move 5 -3')).toBe('');
    expect(await ours.hmp.run('mouse_button 1')).toBe('');
    const pic = await ours.hmp.run('info pic');
    expect(pic).toMatch(/^pic1: irr=[0-9a-f]{2} imr=[0-9a-f]{2} isr=[0-9a-f]{2} hprio=\d irq_base=[0-9a-f]{2} rr_sel=\d elcr=[0-9a-f]{2} fnm=\d\npic0: /);
  });

  it('help lists commands in QEMU\'s "name args -- text" form', async () => {
    const h = await ours.hmp.run('help x');
    expect(h).toBe("x /fmt addr -- virtual memory dump starting at 'addr'\n");
    expect(await ours.hmp.run('help')).toContain('info status  -- show the current VM status (running|paused)\n');
  });

  it('gdbserver starts and stops the stub with QEMU\'s messages', async () => {
    expect(await ours.hmp.run('gdbserver tcp::0')).toBe("Waiting for gdb connection on device 'tcp::0'\n");
    expect(await ours.hmp.run('gdbserver none')).toBe('Disabled gdbserver\n');
  });

  it('quit stops the machine with SHUTDOWN host-qmp-quit', async () => {
    events.length = 0;
    await ours.hmp.run('quit');
    const r = await ours.done;
    expect(r.kind).toBe('quit');
    expect(events).toEqual(['SHUTDOWN {"guest":false,"reason":"host-qmp-quit"}']);
    expect(existsSync(TMP)).toBe(true);
  });
});

describe('HMP behind a mux (-nographic)', () => {
  it('prints nothing at start, the banner and prompt on the first focus, a fresh prompt on later ones (as QEMU 7.2)', async () => {
    const back = new MemoryChar();
    const mux = new MuxChar(back);
    mux.frontend(); // serial port: first frontend, has the focus
    const monFe = mux.frontend();
    const target: MonitorTarget = {
      status: () => 'running', stop: () => {}, cont: () => {}, quit: () => {}, systemReset: () => {}, systemPowerdown: () => {},
      registers: () => '', blockInfo: () => [], screendump: () => {}, version: () => '7.2.0',
    };
    new HumanMonitor(monFe, target);
    expect(back.text()).toBe('');
    back.feed('\x01c');
    expect(back.text()).toBe("QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ");
    back.feed('info status\r');
    await new Promise((r) => setTimeout(r, 10));
    back.feed('\x01c\x01c');
    expect(back.text()).toBe("QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) info status\r\nVM status: running\r\n(qemu) \r\n(qemu) ");
  });
});
