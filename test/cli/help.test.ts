/**
 * Help listings: every line qemu-ts prints for -M/-cpu/-device/-vga/-display/-netdev help must
 * appear verbatim in real QEMU 7.2's listing (same format; we list only what we support).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuHelp } from '../../src/cli/cpu-models.js';
import { deviceHelp, devicePropsHelp, findDevice } from '../../src/cli/device-models.js';
import { displayHelp, vgaHelp } from '../../src/cli/help.js';
import { machineHelp } from '../../src/cli/machines.js';
import { netdevHelp } from '../../src/cli/net.js';
import { CliExit } from '../../src/cli/errors.js';
import { parseCommandLine } from '../../src/cli/index.js';

const QEMU = 'qemu-system-x86_64';
const haveQemu = spawnSync(QEMU, ['-version']).status === 0;
const qemuOut = (args: string[]) => spawnSync(QEMU, args, { encoding: 'utf8' }).stdout;

function helpOf(args: string[]): { code: number; text: string } {
  try {
    parseCommandLine(args, { warn: () => {}, vars: {} });
  } catch (e) {
    if (e instanceof CliExit) return { code: e.code, text: e.stdout };
    throw e;
  }
  throw new Error('no help printed');
}

describe('help requests on the command line', () => {
  it('-M help, -machine ?, -cpu help, -device help, -vga help, -display help, -netdev help, -net nic,model=help', () => {
    expect(helpOf(['-M', 'help'])).toEqual({ code: 0, text: machineHelp() });
    expect(helpOf(['-machine', '?']).text).toBe(machineHelp());
    expect(helpOf(['-cpu', 'help']).text).toBe(cpuHelp());
    expect(helpOf(['-device', 'help']).text).toBe(deviceHelp());
    expect(helpOf(['-device', 'isa-debugcon,help']).text).toBe(devicePropsHelp(findDevice('isa-debugcon')!));
    expect(helpOf(['-vga', 'help']).text).toBe(vgaHelp());
    expect(helpOf(['-display', 'help']).text).toBe(displayHelp());
    expect(helpOf(['-netdev', 'help']).text).toBe(netdevHelp());
    expect(helpOf(['-net', 'nic,model=help']).text).toBe('Supported NIC models:\ne1000\nne2k_isa\nne2k_pci\nrtl8139\n');
    expect(helpOf(['-d', 'help']).text.split('\n')[0]).toBe('Log items (comma separated):');
  });

  it('-h lists every supported option from the table; -version names QEMU 7.2 compatibility', () => {
    const h = helpOf(['-h']).text;
    expect(h.split('\n')[0]).toMatch(/^QEMU emulator version 7\.2\.0 \(qemu-ts \d+\.\d+\.\d+\)$/);
    for (const o of ['-machine', '-cpu', '-drive', '-netdev', '-chardev', '-debugcon', '-dump-machine', '-localtime']) {
      expect(h).toMatch(new RegExp(`^${o}\\b`, 'm'));
    }
    expect(h).not.toMatch(/^-spice\b/m);
    expect(helpOf(['-version']).text).toMatch(/^QEMU emulator version 7\.2\.0 \(qemu-ts /);
  });

  it('-d with an unknown item lists the items and exits 1 (as QEMU)', () => {
    expect(helpOf(['-d', 'bogus']).code).toBe(1);
  });
});

describe.skipIf(!haveQemu)('listing format matches QEMU 7.2', () => {
  const subset = (ours: string, theirs: string) => {
    const t = new Set(theirs.split('\n'));
    const missing = ours.split('\n').filter((l) => l !== '' && !t.has(l));
    expect(missing).toEqual([]);
  };
  it('-machine help', () => subset(machineHelp(), qemuOut(['-machine', 'help'])));
  it('-cpu help (models; flags section header)', () => {
    const ours = cpuHelp();
    const head = ours.slice(0, ours.indexOf('\n\nRecognized CPUID flags:'));
    subset(head, qemuOut(['-cpu', 'help']));
    // Every flag we accept is a flag QEMU recognises.
    const theirFlags = new Set(qemuOut(['-cpu', 'help']).split('Recognized CPUID flags:')[1]!.split(/\s+/));
    const ourFlags = ours.split('Recognized CPUID flags:')[1]!.split(/\s+/).filter(Boolean);
    expect(ourFlags.filter((f) => !theirFlags.has(f))).toEqual([]);
  });
  it('-device help', () => subset(deviceHelp(), qemuOut(['-device', 'help'])));
  it('-vga help', () => subset(vgaHelp(), qemuOut(['-vga', 'help'])));
  it('-display help', () => subset(displayHelp(), qemuOut(['-display', 'help'])));
  it('-netdev help', () => subset(netdevHelp(), qemuOut(['-netdev', 'help'])));
  it('-device isa-debugcon,help property names and defaults', () => {
    const theirs = qemuOut(['-device', 'isa-debugcon,help']);
    expect(theirs).toContain('iobase=<uint32>        -  (default: 233)');
    expect(devicePropsHelp(findDevice('isa-debugcon')!)).toContain('\n  iobase=<uint32>        -  (default: 233)\n');
    expect(findDevice('isa-debugcon')!.defaults!.iobase).toBe(233);
    const exit = qemuOut(['-device', 'isa-debug-exit,help']);
    expect(exit).toMatch(/iobase=<uint32>\s+-\s+\(default: 1281\)/);
    expect(exit).toMatch(/iosize=<uint32>\s+-\s+\(default: 2\)/);
    expect(findDevice('isa-debug-exit')!.defaults).toEqual({ iobase: 1281, iosize: 2 });
  });
});
