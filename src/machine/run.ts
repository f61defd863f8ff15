/**
 * Running a machine description: open the character devices, build the PC,
 * attach monitors, run until the guest or the user ends it, then flush every
 * drive. Returns the process exit status (0 for power-off and quit; the
 * isa-debug-exit value; 1 on errors).
 */
import type { MachineDescription } from '../cli/machine-description.js';
import { createChardev, isMux, type ChardevSpec } from '../chardev/index.js';
import type { MuxChar } from '../chardev/mux.js';
import type { CharBackend } from '../chardev/types.js';
import { HumanMonitor } from '../monitor/hmp.js';
import { QmpServer } from '../monitor/qmp.js';
import { NullChar } from '../chardev/types.js';
import { VgaRenderer } from '../devices/vga/render.js';
import { PcMonitorTarget } from './monitor-target.js';
import { PcMachine } from './pc.js';
import type { VncServer } from '../display/vnc/server.js';
import { StatusLine } from './status-line.js';

const PROG = 'qemu-ts-system-x86_64';
export const QEMU_COMPAT_VERSION = '7.2.0';

export async function runMachine(desc: MachineDescription): Promise<number> {
  const status = new StatusLine(process.stderr, process.stdout);
  const closers: (() => Promise<void>)[] = [];
  const backends = new Map<string, CharBackend>();
  const muxes = new Map<string, MuxChar>();
  let machine: PcMachine | null = null;
  const quit = (message?: string) => machine?.stop({ kind: 'quit', code: 0, ...(message ? { message } : {}) });
  const fail = (msg: string) => { status.clear(); process.stderr.write(`${PROG}: ${msg}\n`); };

  try {
    for (const c of desc.chardevs) {
      const spec: ChardevSpec = { id: c.id, backend: c.backend, options: { ...c.options, ...(c.mux ? { mux: 'on' } : {}) } };
      const chr = await createChardev(spec, {
        streams: { stdin: process.stdin, stdout: status.guestStream() },
        log: (m) => { status.clear(); process.stderr.write(`${m}\n`); },
        onInterrupt: () => quit(`terminating on signal 2`),
        mux: { onQuit: () => { status.clear(); quit(); } },
      });
      if (isMux(chr)) { muxes.set(c.id, chr); closers.push(() => chr.backend.close()); }
      else { backends.set(c.id, chr); closers.push(() => chr.close()); }
    }
    const chardev = (id: string): CharBackend | null => {
      const m = muxes.get(id);
      if (m !== undefined) return m.frontend();
      return backends.get(id) ?? null;
    };

    machine = await PcMachine.create(desc, { chardev, log: (m) => { status.clear(); process.stderr.write(`${m}\n`); } });
    const m = machine;
    const renderer = m.vga ? new VgaRenderer(m.vga) : null;
    let vnc: VncServer | null = null;
    if (desc.display.vnc !== null) {
      if (renderer === null) throw new Error('-vnc: the machine has no display device (-vga none)');
      const { startVnc } = await import('../display/vnc/server.js');
      const { Ps2InputSink } = await import('../display/input.js');
      vnc = await startVnc(desc.display.vnc, { fb: () => renderer }, new Ps2InputSink(m.i8042),
        (msg) => { status.clear(); process.stderr.write(`${msg}\n`); },
        { keymap: desc.keyboardLayout, name: desc.name ?? 'QEMU' });
      const v = vnc;
      closers.push(() => v.close());
    }

    const target = new PcMonitorTarget(m, {
      version: `${QEMU_COMPAT_VERSION} (qemu-ts)`,
      quit: (r) => m.stop(r),
      vncInfo: () => vnc?.info() ?? 'None',
      vncPassword: (p) => { if (vnc === null) throw new Error('Could not set password'); vnc.setPassword(p); },
    });
    closers.push(() => target.close());
    const hmpForQmp = new HumanMonitor(new NullChar(), target, false);
    for (const mon of [...desc.monitor, ...desc.qmp]) {
      const chr = chardev(mon.chardev);
      if (chr === null) throw new Error(`-monitor: chardev '${mon.chardev}' not found`);
      if (mon.mode === 'readline') new HumanMonitor(chr, target);
      else {
        const q = new QmpServer(chr, target, { hmp: (l) => hmpForQmp.run(l), pretty: mon.pretty });
        closers.push(async () => q.close());
      }
    }
    if (desc.gdb !== null) await target.startGdb(desc.gdb);

    const onSignal = (sig: NodeJS.Signals) => quit(`terminating on signal ${sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1}`);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    m.loop.onHeartbeat = (insns, ns) => status.heartbeat(insns, ns);
    const reason = await m.run();
    target.machineStopped(reason);
    process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); process.off('SIGHUP', onSignal);
    status.clear();
    if (reason.kind === 'quit' && reason.message) process.stderr.write(`${PROG}: ${reason.message}\n`);
    if (reason.kind === 'error') process.stderr.write(`${PROG}: ${reason.message ?? 'emulation failed'}\n`);
    return reason.code;
  } catch (e) {
    fail((e as Error).message);
    return 1;
  } finally {
    status.clear();
    if (machine !== null) await machine.close();
    for (const c of closers) { try { await c(); } catch { /* closing */ } }
  }
}
