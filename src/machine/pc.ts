/**
 * The PC machines, built from a machine description like QEMU's hw/i386
 * builds them: a short list of devices wired to one memory bus, one I/O bus,
 * the PIC's interrupt inputs and one virtual clock.
 *
 * - `pc`: i440FX host bridge (PAM shadowing of 0xC0000-0xFFFFF), PIIX3 ISA
 *   bridge (PIRQ routing, 0xCF9 reset), PIIX3 IDE with bus-master DMA, PIIX4
 *   PM (ACPI power-off, PM timer), std VGA on PCI, ACPI tables via fw_cfg.
 * - `isapc`: no PCI; ISA IDE, ISA VGA, BIOS shadow always writable.
 *
 * Common: 8259 pair, 8254 + port 0x61, RTC/CMOS, 8042 + PS/2, port 0x92,
 * POST port, 8237 DMA, floppy controller, COM ports, fw_cfg, debug devices.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IoBus } from '../bus/io-bus.js';
import { IrqLine } from '../bus/irq.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { MemoryBus } from '../memory/memory-bus.js';
import { Cpu } from '../cpu/cpu.js';
import { Fpu } from '../cpu/fpu/fpu.js';
import type { MachineDescription, DriveInfo } from '../cli/machine-description.js';
import { PicPair } from '../devices/isa/pic.js';
import { Pit, Port61 } from '../devices/isa/pit.js';
import { Rtc, fillPcCmos, rtcBaseMs } from '../devices/isa/rtc.js';
import { Serial16550, COM_PORTS } from '../devices/isa/serial.js';
import { I8042 } from '../devices/isa/i8042.js';
import { Port92 } from '../devices/isa/port92.js';
import { PostPort } from '../devices/isa/post.js';
import { Dma8237 } from '../devices/isa/dma.js';
import { Fdc82077, floppyGeometry } from '../devices/isa/fdc.js';
import { DebugCon } from '../devices/isa/debugcon.js';
import { DebugExit } from '../devices/isa/debug-exit.js';
import { FwCfg, FW_CFG, e820Table } from '../devices/isa/fw-cfg.js';
import { PciBus } from '../devices/pci/pci-bus.js';
import { I440fx } from '../devices/pci/i440fx.js';
import { Piix3 } from '../devices/pci/piix3.js';
import { Piix3Ide } from '../devices/pci/piix3-ide.js';
import { Piix4Pm } from '../devices/pci/piix4-pm.js';
import { IsaIde } from '../devices/ide/isa-ide.js';
import type { IdeChannel } from '../devices/ide/ide-channel.js';
import { guessGeometry } from '../devices/ide/identify.js';
import { Vga } from '../devices/vga/vga.js';
import { VgaPci } from '../devices/vga/vga-pci.js';
import { openImage, openOverlay, closeChain } from '../block/index.js';
import type { BlockNode } from '../block/types.js';
import type { CharBackend } from '../chardev/types.js';
import { loadBios, readFirmwareFile, FirmwareError, type LoadedBios } from './firmware.js';
import { prepareLinuxBoot, publishLinuxBoot, isLinuxBzImage } from './linux-boot.js';
import { buildAcpi } from './acpi/tables.js';
import { coreModelFor } from './cpu-model.js';
import { MainLoop, type StopReason } from './main-loop.js';

export class MachineError extends Error {}

/** What the machine needs from its host program (the CLI front end). */
export interface MachineHost {
  /** Character backends by chardev id, already opened. */
  chardev(id: string): CharBackend | null;
  /** Messages for the user (stderr), never mixed into a guest's stream. */
  log(message: string): void;
  /** Optional: liveness line while the guest is silent (a terminal status line). */
  status?: (line: string) => void;
}

const LOWMEM_MAX = 0xe0000000;
const VRAM_SIZE = 16 << 20;

export class PcMachine {
  readonly clock = new VirtualClock();
  readonly io = new IoBus();
  readonly mem: MemoryBus;
  readonly cpu: Cpu;
  readonly pic = new PicPair();
  readonly pit: Pit;
  readonly rtc: Rtc;
  readonly i8042: I8042;
  readonly fwcfg: FwCfg;
  readonly vga: Vga | null = null;
  readonly serial: Serial16550[] = [];
  readonly ideChannels: IdeChannel[] = [];
  readonly drives: { info: DriveInfo; node: BlockNode }[] = [];
  readonly loop: MainLoop;
  private bios!: LoadedBios;
  private biosImage!: Uint8Array;
  private readonly resetters: (() => void)[] = [];
  private resetRequested = false;
  private readonly belowFourGiB: number;
  private pm: Piix4Pm | null = null;

  private constructor(readonly desc: MachineDescription, private readonly host: MachineHost) {
    const ram = desc.memory.sizeBytes;
    if (ram > LOWMEM_MAX) {
      throw new MachineError(`-m ${desc.memory.sizeBytes / 1048576}M: more than 3.5 GiB of guest RAM is not supported yet (it needs RAM above 4 GiB)`);
    }
    this.belowFourGiB = Math.ceil(ram / 4096) * 4096;
    this.mem = new MemoryBus(this.belowFourGiB, VRAM_SIZE + (24 << 20));
    const model = coreModelFor(desc.cpu.model, desc.cpu.features);
    this.cpu = new Cpu(this.mem, this.io, model);
    if (model.hasFpu) this.cpu.attachFpu(new Fpu(this.cpu));
    this.cpu.intc = this.pic;
    // A 1 GHz TSC on the virtual clock, so the TSC, PIT, PM timer and RTC all agree.
    this.cpu.tscSource = () => this.clock.now();
    this.pic.attach(this.io);
    this.loop = new MainLoop(this.cpu, this.clock);
    this.pic.onIntrChange = (level) => { if (level) { this.cpu.checkIrq = true; this.loop.kick(); } };
    const irq = (n: number) => new IrqLine(this.pic, n);

    this.pit = new Pit(this.clock, irq(0));
    this.pit.attach(this.io);
    new Port61(this.clock, this.pit).attach(this.io);

    this.rtc = new Rtc(this.clock, irq(8), rtcBaseMs(desc.rtc.base, Date.now()));
    this.io.register(0x70, 2, this.rtc, 'rtc');

    this.i8042 = new I8042(this.clock, irq(1), irq(12));
    this.i8042.attach(this.io);
    this.i8042.onA20 = (on) => this.cpu.setA20(on);
    this.i8042.onReset = () => this.requestReset('keyboard controller');
    const p92 = new Port92();
    p92.attach(this.io);
    p92.onA20 = (on) => this.cpu.setA20(on);
    p92.onReset = () => this.requestReset('port 0x92');
    new PostPort().attach(this.io);

    const dma = new Dma8237(this.mem);
    dma.attach(this.io);
    const fdc = new Fdc82077(irq(6), dma);
    fdc.attach(this.io);
    this.resetters.push(() => { this.i8042.reset(); p92.reset(); dma.reset(); fdc.reset(); for (const s of this.serial) s.reset(); });

    this.fwcfg = new FwCfg(this.mem, true);
    this.fwcfg.attach(this.io);

    desc.serial.forEach((p, i) => {
      const chr = this.host.chardev(p.chardev);
      const s = new Serial16550(this.clock, irq(p.irq ?? COM_PORTS[i]!.irq), chr);
      s.attach(this.io, p.iobase ?? COM_PORTS[i]!.base);
      this.serial.push(s);
    });

    for (const d of desc.devices) {
      if (d.driver === 'isa-debugcon') {
        new DebugCon(d.chardev ? this.host.chardev(d.chardev) : null, d.iobase ?? 0xe9).attach(this.io);
      } else if (d.driver === 'isa-debug-exit') {
        new DebugExit((status) => this.loop.stop({ kind: 'exit', code: status }), d.iobase ?? 0x501, d.iosize ?? 2).attach(this.io);
      }
    }

    this.cpu.onShutdown = () => this.requestReset('triple fault');
    this.resetters.push(() => { this.pic.reset(); this.pit.reset(); this.rtc.reset?.(); this.fwcfg.reset(); });
    (this as { fdc?: Fdc82077 }).fdc = fdc;
  }

  /** Build and wire everything, open drives, load firmware. */
  static async create(desc: MachineDescription, host: MachineHost): Promise<PcMachine> {
    const m = new PcMachine(desc, host);
    try {
      await m.build();
    } catch (e) {
      await m.close();
      throw e;
    }
    return m;
  }

  private async build(): Promise<void> {
    const desc = this.desc, mem = this.mem;
    const pci = desc.machine.type === 'pc';
    // RAM: conventional memory and everything above 1 MiB. 0xA0000-0xFFFFF belongs to VGA and the BIOS/PAM window.
    mem.mapRam(0, 0xa0000);
    if (this.belowFourGiB > 0x100000) mem.mapRam(0x100000, this.belowFourGiB - 0x100000);

    if (desc.firmware.biosPath === null) throw new FirmwareError(`could not find the BIOS '${desc.firmware.bios}'`);
    this.biosImage = readFirmwareFile(desc.firmware.biosPath, 'PC BIOS');
    this.bios = loadBios(mem, this.biosImage, desc.firmware.biosPath, { writable: !pci, isaAliasDirect: !pci });

    const irq = (n: number) => new IrqLine(this.pic, n);
    const vramOff = mem.allocRom(VRAM_SIZE);
    const vram = mem.mem.subarray(vramOff, vramOff + VRAM_SIZE);
    let vgaRom: Uint8Array | null = null;
    let vgaBiosName = desc.firmware.vgaBios;
    let vgaBiosPath = desc.firmware.vgaBiosPath;
    if (desc.vga.device !== null && /cirrus/.test(desc.vga.device)) {
      // No Cirrus emulation yet: the standard VGA (with its own BIOS) stands in, and we say so.
      vgaBiosName = pci ? 'vgabios-stdvga.bin' : 'vgabios-isavga.bin';
      vgaBiosPath = this.findFirmwareOrNull(vgaBiosName);
      this.host.log(`warning: ${desc.vga.device} is not emulated yet; using the standard VGA (${vgaBiosName}) instead`);
    }
    if (vgaBiosPath) vgaRom = readFirmwareFile(vgaBiosPath, 'VGA BIOS');

    if (pci) {
      const bus = new PciBus(this.io, mem, { memHoleStart: this.belowFourGiB });
      const host = new I440fx(mem, { onVgaWindow: () => this.vga?.mapWindow() });
      bus.add(host, 0);
      host.setRomSide(0x100000 - this.bios.isaSize, this.bios.isaSize, this.bios.isaMemOffset);
      const piix3 = new Piix3(this.pic, { onReset: () => this.requestReset('0xCF9') });
      bus.add(piix3, 1, 0);
      const ide = new Piix3Ide(this.io, mem, [irq(14), irq(15)]);
      bus.add(ide, 1, 1);
      this.ideChannels.push(...ide.channels);
      if (desc.machine.acpi) {
        const pm = new Piix4Pm(this.io, this.clock, irq(9), {
          onPowerOff: () => this.powerOff(),
        });
        bus.add(pm, 1, 3);
        this.pm = pm;
      }
      if (desc.vga.device !== null) {
        const vga = new Vga({ clock: this.clock, vram });
        vga.attach(this.io, mem);
        bus.add(new VgaPci(vga, vgaRom), 2);
        (this as { vga: Vga | null }).vga = vga;
      }
      this.resetters.push(() => { for (const d of bus.list()) d.reset?.(); });
    } else {
      // isapc: the 0xC0000-0xDFFFF option ROM area is writable RAM, as QEMU maps it without PCI.
      mem.mapRam(0xc0000, 0x20000);
      const ide = new IsaIde(this.io, [irq(14), irq(15)]);
      this.ideChannels.push(...ide.channels);
      this.resetters.push(() => ide.reset());
      if (desc.vga.device !== null) {
        const vga = new Vga({ clock: this.clock, vram });
        vga.attach(this.io, mem);
        vga.mapLfb(mem, 0xe0000000);
        (this as { vga: Vga | null }).vga = vga;
        if (vgaRom) this.fwcfg.addFile(`vgaroms/${vgaBiosName ?? 'vgabios-isavga.bin'}`, vgaRom);
      }
    }

    await this.openDrives();
    this.setupFirmwareConfig();
  }

  private async openDrives(): Promise<void> {
    const fdc = (this as { fdc?: Fdc82077 }).fdc!;
    const floppyTypes: [number, number] = [0, 0];
    const hardDisks: ({ cylinders: number; heads: number; sectors: number } | null)[] = [null, null];
    for (const info of this.desc.drives) {
      if (info.interface !== 'ide' && info.interface !== 'floppy') {
        if (info.file === null) continue;
        throw new MachineError(`-drive if=${info.interface}: this interface is not emulated yet (use if=ide or if=floppy)`);
      }
      let node: BlockNode | null = null;
      if (info.file !== null) {
        const readOnly = info.readonly || info.media === 'cdrom';
        try {
          node = await openImage(info.file, { readOnly, ...(info.format ? { format: info.format } : {}) });
        } catch (e) {
          throw new MachineError(`${info.source} ${info.file}: ${(e as Error).message}`);
        }
        if (info.snapshot || this.desc.flags.snapshot) {
          if (info.media !== 'cdrom') node = await openOverlay(node);
        }
        this.drives.push({ info, node });
      }
      if (info.interface === 'floppy') {
        if (node !== null) {
          const g = floppyGeometry(node.size());
          fdc.insert(info.unit, node);
          floppyTypes[info.unit] = g.driveType;
        } else floppyTypes[info.unit] = 4;
        continue;
      }
      const ch = this.ideChannels[info.bus];
      if (ch === undefined) throw new MachineError(`${info.source}: IDE bus ${info.bus} does not exist`);
      const unit = info.unit as 0 | 1;
      if (info.media === 'cdrom') ch.attachCdrom(unit, node);
      else if (node !== null) {
        const d = ch.attachDisk(unit, node, { chs: await guessGeometry(node) });
        if (info.bus === 0) hardDisks[unit] = d.chs;
      }
    }
    fillPcCmos(this.rtc, {
      below4g: this.belowFourGiB,
      bootOrder: this.desc.boot.once ?? this.desc.boot.order,
      floppyTypes,
      hardDisks,
      cpus: this.desc.smp.cpus,
    });
  }

  private setupFirmwareConfig(): void {
    const fw = this.fwcfg, desc = this.desc;
    fw.addU64(FW_CFG.RAM_SIZE, this.belowFourGiB);
    fw.addU16(FW_CFG.NB_CPUS, desc.smp.cpus);
    fw.addU16(FW_CFG.MAX_CPUS, desc.smp.maxcpus);
    fw.addU16(FW_CFG.NOGRAPHIC, desc.display.nographic ? 1 : 0);
    fw.addU16(FW_CFG.BOOT_MENU, desc.boot.menu ? 1 : 0);
    if (desc.boot.menu && desc.boot.splashTimeMs !== null) {
      const b = new Uint8Array(2); b[0] = desc.boot.splashTimeMs & 0xff; b[1] = desc.boot.splashTimeMs >> 8;
      fw.addFile('etc/boot-menu-wait', b);
    }
    const rebootTimeout = new Uint8Array(4);
    new DataView(rebootTimeout.buffer).setInt32(0, desc.boot.rebootTimeoutMs, true);
    fw.addFile('etc/boot-fail-wait', rebootTimeout);
    fw.addFile('etc/e820', e820Table([{ addr: 0, len: this.belowFourGiB, type: 1 }]));
    if (desc.machine.type === 'pc' && desc.machine.acpi) {
      const acpi = buildAcpi({
        belowFourGiB: this.belowFourGiB, cpus: desc.smp.cpus, apic: false,
        serialPorts: desc.serial.map((_, i) => i), floppy: true,
      });
      fw.addFile('etc/acpi/tables', acpi.tables);
      fw.addFile('etc/acpi/rsdp', acpi.rsdp);
      fw.addFile('etc/table-loader', acpi.loader);
    }
    if (desc.kernel !== null) this.setupKernel();
  }

  private findFirmwareOrNull(name: string): string | null {
    try { return this.findFirmware(name); } catch { return null; }
  }

  private findFirmware(name: string): string {
    for (const dir of [...this.desc.firmware.searchPath, '/usr/share/qemu', '/usr/share/seabios']) {
      const p = join(dir, name);
      try { readFileSync(p, { flag: 'r' }).length; return p; } catch { /* next */ }
    }
    throw new FirmwareError(`could not find the option ROM '${name}' (looked in ${this.desc.firmware.searchPath.join(', ')}); on Debian: apt-get install qemu-system-data`);
  }

  private setupKernel(): void {
    const desc = this.desc;
    const kernel = readFirmwareFile(desc.kernel!, 'kernel');
    if (!isLinuxBzImage(kernel)) {
      throw new MachineError(`-kernel ${desc.kernel}: not a Linux bzImage (multiboot kernels are not supported yet)`);
    }
    const initrd = desc.initrd !== null ? readFirmwareFile(desc.initrd, 'initrd') : null;
    const img = prepareLinuxBoot(kernel, desc.append ?? '', initrd, this.belowFourGiB);
    publishLinuxBoot(img, this.fwcfg);
    this.fwcfg.addFile('genroms/linuxboot_dma.bin', readFileSync(this.findFirmware('linuxboot_dma.bin')));
    // As QEMU does, the kernel loader ROM gets boot index 0, so SeaBIOS runs it first.
    this.fwcfg.addFile('bootorder', new TextEncoder().encode('/rom@genroms/linuxboot_dma.bin\n' + (desc.boot.strict ? 'HALT\n' : '')));
  }

  private requestReset(why: string): void {
    if (this.desc.flags.noReboot) {
      this.loop.stop({ kind: 'shutdown', code: 0, message: `guest requested a reset (${why}) with -no-reboot` });
      return;
    }
    this.resetRequested = true;
    this.cpu.requestStop();
    this.loop.kick();
  }

  private powerOff(): void {
    if (this.desc.flags.noShutdown) { this.loop.pause(); this.host.log('guest powered off; -no-shutdown keeps the machine (stopped)'); return; }
    this.loop.stop({ kind: 'shutdown', code: 0, message: 'guest powered off' });
  }

  /** The power button (monitor's system_powerdown): ACPI guests shut down; without ACPI nothing happens. */
  powerButton(): void {
    if (this.pm !== null) this.pm.powerButton();
    else this.host.log('system_powerdown: this machine has no ACPI power button');
  }

  /** System reset: CPU and devices to power-on state; RAM kept, as on a real PC. */
  reset(): void {
    this.resetRequested = false;
    if (this.desc.machine.type !== 'pc') this.mem.mem.set(this.biosImage, this.bios.memOffset);
    for (const r of this.resetters) r();
    this.cpu.reset();
  }

  /** Run until the guest powers off, exits through isa-debug-exit, or stop() is called. */
  async run(): Promise<StopReason> {
    this.reset();
    this.loop.addPoller(() => { if (this.resetRequested) this.reset(); });
    return this.loop.run(this.desc.flags.startPaused);
  }

  stop(reason: StopReason): void { this.loop.stop(reason); }

  /** Flush and close every drive; safe to call twice. */
  async close(): Promise<void> {
    const drives = this.drives.splice(0);
    for (const d of drives) {
      try { await d.node.flush(); } catch (e) { this.host.log(`flushing ${d.info.file}: ${(e as Error).message}`); }
      try { await closeChain(d.node); } catch { /* already reported */ }
    }
  }
}
