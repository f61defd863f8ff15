/**
 * Accept/reject decisions compared with real QEMU 7.2 (Debian qemu-system-x86) for the same
 * lines. QEMU is run with `-S` (CPU stopped) and killed after a short wait: still running means
 * it accepted the line; exit status 1 means it rejected it. Skipped when qemu-system-x86_64 is
 * not installed.
 *
 * Not compared here (documented in docs/cli.md): KVM lines (this host may have /dev/kvm, qemu-ts
 * never does), legacy spellings QEMU 7.2 removed (qemu-ts accepts them with a warning — checked
 * below as a deliberate divergence), and tap/bridge backends (need privileges at run time).
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { errorOf, scratch } from './helpers.js';

const QEMU = 'qemu-system-x86_64';
const haveQemu = spawnSync(QEMU, ['-version'], { encoding: 'utf8' }).status === 0;
if (!haveQemu) console.warn(`oracle tests skipped: ${QEMU} is not installed (Debian: apt-get install qemu-system-x86)`);

const WAIT_MS = 4000;
const PARALLEL = 16;

/** Map with at most PARALLEL QEMU processes at a time (the machine may be shared). */
async function pool<T, R>(items: readonly T[], fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

/** true = accepted, false = rejected (exit 1). */
function qemuAccepts(args: string[], cwd: string, doneWhen?: (stderr: string) => boolean): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(QEMU, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (doneWhen?.(stderr)) p.kill('SIGKILL');
    });
    const t = setTimeout(() => p.kill('SIGKILL'), WAIT_MS);
    p.on('exit', (code, signal) => {
      clearTimeout(t);
      // Under load QEMU can take long to exit after printing its error: an error line (not a
      // warning) counts as a rejection even if we had to kill it.
      const errLine = stderr.split('\n').some((l) => l.startsWith(`${QEMU}: `) && !/warning|terminating on signal/.test(l));
      resolve({ ok: (signal === 'SIGKILL' && !errLine) || code === 0, stderr });
    });
  });
}

/** Extra options so QEMU stays quiet and stopped; not added where the line already picks them. */
function withQuiet(args: string[]): string[] {
  const extra = ['-S'];
  if (!args.some((a) => ['-display', '-nographic', '-vnc', '-curses', '-sdl'].includes(a))) extra.push('-display', 'none');
  if (!args.includes('-monitor') && !args.includes('-nographic') && !args.includes('-qmp')) extra.push('-monitor', 'none');
  if (!args.includes('-serial') && !args.includes('-nographic')) extra.push('-serial', 'none');
  return [...args, ...extra];
}

const LINES: string[][] = [
  // accepted by both
  ['-m', '1024', '-L', '.', '-boot', 'd', '-M', 'isapc', '-cdrom', 'xp.iso', '-hda', 'xp.img'],
  ['-cdrom', 'xp.iso', '-boot', 'order=d', '-drive', 'file=disk.img,format=raw', '-m', '1G'],
  ['-nodefaults', '-chardev', 'file,id=ee,path=out.txt', '-device', 'isa-debugcon,iobase=0xe9,chardev=ee', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4'],
  ['-netdev', 'user,id=n0,hostfwd=tcp::0-:22', '-device', 'e1000,netdev=n0', '-drive', 'if=none,id=d0,file=disk.img,format=raw', '-device', 'ide-hd,drive=d0'],
  ['-M', 'pc-i440fx-2.1', '-cpu', 'qemu64,+sse3,-nx,vme=off', '-smp', '2,sockets=1,cores=2', '-m', 'size=256M,slots=2,maxmem=1G'],
  ['-M', 'isapc', '-m', '256M,maxmem=256M', '-smp', '1', '-cpu', 'pentium'],
  ['-boot', 'order=cd,once=n,menu=on,splash-time=500,reboot-timeout=-1,strict=on', '-rtc', 'base=2006-06-17T16:01:21,clock=vm', '-no-hpet', '-no-acpi'],
  ['-hda', 'xp.img', '-snapshot', '-hdb', 'xp.img', '-fda', 'floppy.img', '-M', 'isapc', '-vga', 'std'],
  ['-drive', 'file=a,,b.img,format=raw,index=3', '-net', 'nic,model=ne2k_pci,macaddr=52:54:00:aa:bb:cc', '-net', 'user'],
  ['-cpu', '486', '-M', 'isapc', '-m', '16', '-net', 'nic', '-net', 'user', '-vga', 'cirrus'],
  ['-kernel', 'bzImage', '-append', 'console=ttyS0', '-nographic', '-no-reboot'],
  ['-nographic', '-monitor', 'none', '-serial', 'stdio'],
  ['-kernel', 'linux.bin', '-initrd', 'initrd.img', '-append', 'quiet'],
  ['-nographic', '-serial', 'mon:stdio', '-drive', 'file=disk.img,index=1,media=disk,format=raw', '-drive', 'file=xp.img,index=0,media=disk,format=raw', '-smp', '2', '-m', '512'],
  ['-cpu', 'pentium', '-m', '128', '-hda', 'disk.img', '-cdrom', 'xp.iso', '-boot', 'd', '-vga', 'cirrus', '-device', 'sb16', '-net', 'nic,model=ne2k_pci', '-net', 'user', '-rtc', 'base=localtime', '-usb'],
  ['-nic', 'id=x', '-global', 'foo.bar=1', '-echr', '0x14', '-usbdevice', 'tablet', '-boot', 'n', '-fda', 'file:floppy.img'],
  ['-serial', 'mon:stdio', '-drive', 'file=xp.img,if=virtio,format=raw'],
  // rejected by both
  ['-m', '1024X'],
  ['-M', 'pc-i440fx-2.0', '-m', 'size=256M,slots=2,maxmem=1G'],
  ['-M', 'isapc', '-m', '256M,maxmem=1G'],
  ['-m', '256M,slots=2'],
  ['-M', 'q35x'],
  ['-cpu', 'host'],
  ['-smp', '2,threads=3'],
  ['-boot', 'cc'],
  ['-hda', 'xp.img', '-hdb', 'xp.img'],
  ['-hda', 'xp.img', '-cdrom', 'xp.img'],
  ['-drive', 'file=xp.img,format=raw,unit=2'],
  ['-drive', 'file=xp.img,format=qcow2'],
  ['-hda', 'nonexist.img'],
  ['-device', 'ide-hd,drive=nope'],
  ['-M', 'isapc', '-device', 'e1000'],
  ['-netdev', 'user,id=n0,hostfwd=bad'],
  ['-chardev', 'stdio'],
  ['-initrd', 'initrd.img'],
  ['-uuid', 'bad'],
  ['-rtc', 'base=bogus'],
  ['-vga', 'bogus'],
  ['-serial', 'bogus:x'],
  ['-nographic', '-serial', 'stdio'],
  ['-daemonize', '-nographic'],
  ['-drive', 'file=xp.img,if=scsi,format=raw'],
  ['-usbdevice', 'tablet', '-M', 'isapc'],
  ['-pidfile', '/nonexistent/dir/x.pid'],
  ['-D', '/nonexistent/x.log'],
  ['-boot', 'on'],
  ['-M', 'a=b'],
  ['-global', 'xp.img'],
  ['-debugcon', 'none'],
  ['-d', 'help'],
  ['-usbdevice', 'bogus'],
  ['-kernel', 'bzImage', '-initrd', 'initrd.img'],
  ['-kernel', 'linux-nomax.bin', '-initrd', 'initrd.img'],
];

describe.skipIf(!haveQemu)('accept/reject matches real QEMU 7.2', () => {
  it('every line', async () => {
    const results = await pool(LINES, async (line) => {
      const dir = scratch();
      const full = withQuiet(line);
      const [q, ours] = await Promise.all([qemuAccepts(full, dir), errorOf(full, dir)]);
      return { line: line.join(' '), qemu: q.ok, qemuErr: q.stderr.trim().split('\n').pop(), ours: ours === null, oursErr: ours };
    });
    const mismatches = results.filter((r) => r.qemu !== r.ours);
    expect(mismatches).toEqual([]);
    // Both sides really exercised: some accepted, some rejected.
    expect(results.filter((r) => r.qemu).length).toBe(17);
  });

  it('the raw-probing warning is the text QEMU prints', async () => {
    const dir = scratch();
    const q = await qemuAccepts(withQuiet(['-hda', 'xp.img']), dir, (e) => e.includes('to remove the restrictions.\n'));
    const theirs = q.stderr.split('\n').filter((l) => !l.startsWith(`${QEMU}: terminating`)).join('\n').trim();
    const { run } = await import('./helpers.js');
    const ours = (await run(withQuiet(['-hda', 'xp.img']), dir)).warnings.filter((w) => w.startsWith('WARNING')).join('\n');
    expect(ours).toBe(theirs);
  });

  it('drive ids, NIC models and MACs match QEMU\'s `info block` / `info network`', async () => {
    const dir = scratch();
    const line = ['-hda', 'xp.img', '-drive', 'file=disk.img,format=raw,if=floppy,index=1', '-net', 'nic', '-net', 'nic,model=rtl8139', '-net', 'user',
      '-netdev', 'user,id=n0', '-device', 'ne2k_pci,netdev=n0', '-net', 'nic,model=ne2k_pci,macaddr=02:00:00:00:00:07'];
    const out = await new Promise<string>((resolve) => {
      const p = spawn(QEMU, [...line, '-display', 'none', '-S', '-serial', 'none', '-monitor', 'stdio'], { cwd: dir, stdio: ['pipe', 'pipe', 'ignore'] });
      let text = '';
      p.stdout.on('data', (b: Buffer) => (text += b.toString()));
      const t = setTimeout(() => p.kill('SIGKILL'), 8000);
      p.on('exit', () => {
        clearTimeout(t);
        resolve(text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, ''));
      });
      p.stdin.end('info block\ninfo network\nquit\n');
    });
    // QEMU also lists an "sd0" default for machines with an SD bus; pc has none, so qemu-ts has no such drive.
    const theirDrives = [...out.matchAll(/^(?:\(qemu\) )?([\w-]+)(?: \(#block\d+\))?: /gm)].map((m) => m[1]!).filter((id) => id !== 'sd0' && id !== 'QEMU');
    const theirNics = [...out.matchAll(/model=([\w-]+),macaddr=([0-9a-f:]+)/g)].map((m) => `${m[1]} ${m[2]}`).sort();
    const { run } = await import('./helpers.js');
    const d = (await run(line, dir)).desc;
    expect(d.drives.map((x) => x.id).sort()).toEqual(theirDrives.sort());
    expect(d.nics.map((n) => `${n.model} ${n.mac}`).sort()).toEqual(theirNics);
    expect(theirNics.length).toBe(4);
    expect(theirDrives.sort()).toEqual(['floppy0', 'floppy1', 'ide0-hd0', 'ide1-cd0']);
  });

  it('legacy spellings QEMU 7.2 removed: QEMU rejects them, qemu-ts maps them with a warning', async () => {
    const legacy = [['-localtime'], ['-std-vga'], ['-soundhw', 'sb16'], ['-no-kqemu'], ['-net', 'nic,vlan=0']];
    const res = await pool(legacy, async (l) => {
      const dir = scratch();
      const full = withQuiet(l);
      return { l: l.join(' '), qemu: (await qemuAccepts(full, dir)).ok, ours: await errorOf(full, dir) };
    });
    expect(res).toEqual(legacy.map((l) => ({ l: l.join(' '), qemu: false, ours: null })));
  });
});
