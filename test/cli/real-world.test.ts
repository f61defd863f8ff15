/**
 * Real-world launcher lines, checked field by field. Expected values come from QEMU 7.2's own
 * behaviour (observed with qemu-system-x86_64 7.2: `info qtree`, `info network`, `info
 * memory_size_summary`, strace of the firmware files it opens) and QEMU's documented defaults.
 */
import { describe, expect, it } from 'vitest';
import { run, scratch } from './helpers.js';

const dir = scratch();

describe('classic tutorial lines', () => {
  it('Windows XP on isapc: -m 1024 -L . -boot d -M isapc -cdrom "xp.iso" -hda xp.img', async () => {
    const { desc: d, warnings } = await run(['-m', '1024', '-L', '.', '-boot', 'd', '-M', 'isapc', '-cdrom', 'xp.iso', '-hda', 'xp.img'], dir);
    expect(d.machine).toMatchObject({ type: 'isapc', accel: 'tcg', pci: false, acpi: false, hpet: false, ideController: 'isa-ide' });
    expect(d.memory.sizeBytes).toBe(1024 * 1024 * 1024);
    expect(d.boot.order).toBe('d');
    expect(d.boot.once).toBeNull();
    // isapc's default CPU is a 486 (QEMU 7.2 `info qom-tree`: 486-x86_64-cpu).
    expect(d.cpu.model).toBe('486');
    expect(d.firmware.searchPath[0]).toBe(dir);
    // isapc loads the 128 KiB SeaBIOS and the Cirrus VGA BIOS (strace of QEMU 7.2).
    expect(d.firmware.bios).toBe('bios.bin');
    expect(d.vga).toEqual({ type: 'cirrus', device: 'isa-cirrus-vga' });
    expect(d.firmware.vgaBios).toBe('vgabios-cirrus.bin');
    const cd = d.drives.find((x) => x.media === 'cdrom')!;
    expect(cd).toMatchObject({ file: 'xp.iso', interface: 'ide', bus: 1, unit: 0, index: 2, readonly: true, device: 'ide-cd', format: 'raw' });
    const hd = d.drives.find((x) => x.source === '-hda')!;
    expect(hd).toMatchObject({ file: 'xp.img', interface: 'ide', bus: 0, unit: 0, index: 0, media: 'disk', readonly: false, snapshot: false, format: 'raw', formatProbed: true, device: 'ide-hd', id: 'ide0-hd0', sizeBytes: 4 << 20 });
    // Default floppy drive A (empty) stays; no default CD since -cdrom took index 2.
    expect(d.drives.filter((x) => x.source === 'default').map((x) => x.id)).toEqual(['floppy0']);
    // Default network: one ne2k_isa at 0x300/IRQ 9 on hub 0 with user networking.
    expect(d.nics).toEqual([expect.objectContaining({ model: 'ne2k_isa', mac: '52:54:00:12:34:56', hub: 0, netdev: null, iobase: 0x300, irq: 9, romfile: null })]);
    expect(d.netdevs).toEqual([expect.objectContaining({ id: 'user.0', type: 'user', hub: 0 })]);
    // QEMU prints the raw-probing warning for the writable disk only.
    expect(warnings.filter((w) => w.startsWith('WARNING'))).toEqual([
      "WARNING: Image format was not specified for 'xp.img' and probing guessed raw.\n" +
        '         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n' +
        "         Specify the 'raw' format explicitly to remove the restrictions.",
    ]);
    expect(d.serial).toEqual([{ chardev: 'serial0', index: 0, iobase: 0x3f8, irq: 4 }]);
    expect(d.chardevs.find((c) => c.id === 'serial0')).toMatchObject({ backend: 'vc' });
    expect(d.parallel).toEqual([{ chardev: 'parallel0', index: 0, iobase: 0x378, irq: 7 }]);
    expect(d.monitor).toEqual([{ chardev: 'compat_monitor0', mode: 'readline', pretty: false }]);
  });

  it('default pc machine: bios-256k, std VGA, e1000 with iPXE ROM, empty CD-ROM and floppy', async () => {
    const { desc: d } = await run(['disk.img'], dir);
    expect(d.machine).toMatchObject({ type: 'pc', versionedType: 'pc-i440fx-7.2', pci: true, acpi: true, hpet: true, ideController: 'piix3-ide' });
    expect(d.cpu).toMatchObject({ model: 'qemu64', features: {}, longMode: true });
    expect(d.smp).toEqual({ cpus: 1, maxcpus: 1, sockets: 1, dies: 1, cores: 1, threads: 1 });
    expect(d.memory.sizeBytes).toBe(128 << 20);
    expect(d.boot.order).toBe('cad');
    expect(d.firmware).toMatchObject({ bios: 'bios-256k.bin', vgaBios: 'vgabios-stdvga.bin' });
    expect(d.vga).toEqual({ type: 'std', device: 'VGA' });
    expect(d.nics).toEqual([expect.objectContaining({ model: 'e1000', mac: '52:54:00:12:34:56', romfile: 'efi-e1000.rom', hub: 0 })]);
    expect(d.drives.map((x) => [x.id, x.file, x.bus, x.unit])).toEqual([
      ['ide0-hd0', 'disk.img', 0, 0],
      ['ide1-cd0', null, 1, 0],
      ['floppy0', null, 0, 0],
    ]);
    expect(d.rtc).toEqual({ base: 'utc', clock: 'host', driftfix: 'none' });
    expect(d.flags).toMatchObject({ startPaused: false, noReboot: false, noShutdown: false, snapshot: false, daemonize: false });
  });

  it('old pc-i440fx versions: bios.bin before 2.0, Cirrus VGA before 2.2, deprecation warning for 1.x', async () => {
    const a = await run(['-M', 'pc-i440fx-1.7'], dir);
    expect(a.desc.firmware.bios).toBe('bios.bin');
    expect(a.desc.vga.device).toBe('cirrus-vga');
    expect(a.warnings).toContain("warning: Machine type 'pc-i440fx-1.7' is deprecated: old and unattended - use a newer version instead");
    const b = await run(['-M', 'pc-i440fx-2.1'], dir);
    expect([b.desc.firmware.bios, b.desc.vga.device]).toEqual(['bios-256k.bin', 'cirrus-vga']);
    const c = await run(['-M', 'pc-i440fx-2.2'], dir);
    expect(c.desc.vga.device).toBe('VGA');
    const e = await run(['-M', 'isapc', '-vga', 'std'], dir);
    expect([e.desc.vga.device, e.desc.firmware.vgaBios]).toEqual(['isa-vga', 'vgabios.bin']);
  });

  it('0.9-era script with legacy spellings maps with one-line deprecation warnings', async () => {
    const { desc: d, warnings } = await run(
      ['-hda', 'disk.img', '-boot', 'c', '-soundhw', 'sb16', '-localtime', '-std-vga', '-net', 'nic,vlan=0,model=ne2k_pci', '-net', 'user,vlan=0', '-no-kqemu', '-win2k-hack', '-kernel-kqemu'],
      dir,
    );
    expect(d.rtc.base).toBe('localtime');
    expect(d.vga).toEqual({ type: 'std', device: 'VGA' });
    expect(d.audio.soundhw).toEqual(['sb16']);
    expect(d.devices.find((x) => x.driver === 'sb16')).toMatchObject({ iobase: 0x220, irq: 5 });
    expect(d.nics).toEqual([expect.objectContaining({ model: 'ne2k_pci', hub: 0, mac: '52:54:00:12:34:56' })]);
    expect(d.netdevs).toEqual([expect.objectContaining({ id: 'user.0', type: 'user', hub: 0 })]);
    expect(d.flags.win2kHack).toBe(true);
    const deprec = warnings.filter((w) => w.includes('deprecated option'));
    expect(deprec.map((w) => w.split(':')[0])).toEqual(['-soundhw sb16', '-localtime', '-std-vga', '-net nic,vlan=0,model=ne2k_pci', '-net user,vlan=0', '-no-kqemu', '-win2k-hack', '-kernel-kqemu']);
    for (const w of deprec) expect(w.includes('\n')).toBe(false);
  });

  it('Windows .bat leftovers: quoted file names and backslash paths', async () => {
    const { desc: d, warnings } = await run(['-hda', '"xp.img"', '-cdrom', 'sub\\..\\xp.iso'], dir);
    expect(d.drives[0]!.file).toBe('xp.img');
    expect(d.drives[1]!.file).toBe('sub/../xp.iso');
    expect(warnings.some((w) => w.includes('literal quotes'))).toBe(true);
  });
});

describe('wiki-style lines', () => {
  it('Arch wiki: -cdrom iso -boot order=d -drive file=disk,format=raw -m 4G', async () => {
    const { desc: d, warnings } = await run(['-cdrom', 'xp.iso', '-boot', 'order=d', '-drive', 'file=disk.img,format=raw', '-m', '4G'], dir);
    expect(d.memory.sizeBytes).toBe(4 * 2 ** 30);
    expect(d.boot.order).toBe('d');
    // -drive without if/index takes the first free IDE slot: bus 0 unit 0.
    const disk = d.drives.find((x) => x.file === 'disk.img')!;
    expect(disk).toMatchObject({ interface: 'ide', bus: 0, unit: 0, index: -1, format: 'raw', formatProbed: false, id: 'ide0-hd0' });
    expect(warnings.filter((w) => w.startsWith('WARNING'))).toEqual([]);
  });

  it('Arch wiki: -nic user,hostfwd=tcp::60022-:22 (and a udp rule)', async () => {
    const { desc: d } = await run(['-nic', 'user,model=rtl8139,hostfwd=tcp::60022-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53'], dir);
    expect(d.netdevs).toEqual([{
      id: '__org.qemu.nic0', type: 'user', hub: null, options: {},
      hostfwd: [
        { protocol: 'tcp', hostAddr: '', hostPort: 60022, guestAddr: '', guestPort: 22 },
        { protocol: 'udp', hostAddr: '127.0.0.1', hostPort: 5353, guestAddr: '10.0.2.15', guestPort: 53 },
      ],
    }]);
    expect(d.nics).toEqual([expect.objectContaining({ model: 'rtl8139', netdev: '__org.qemu.nic0', hub: null, mac: '52:54:00:12:34:56' })]);
  });

  it('Debian wiki: direct kernel boot with -nographic (serial on stdio muxed with the monitor)', async () => {
    // A boot-protocol 2.x header, so the loader can pass the initrd (QEMU refuses older kernels).
    const { readFileSync, writeFileSync } = await import('node:fs');
    const k = readFileSync(`${dir}/bzImage`);
    k.write('HdrS', 0x202, 'latin1');
    k.writeUInt16LE(0x20f, 0x206);
    k.writeUInt32LE(0x7fffffff, 0x22c);
    writeFileSync(`${dir}/bzImage`, k);
    const { desc: d } = await run(['-kernel', 'bzImage', '-initrd', 'initrd.img', '-append', 'console=ttyS0 root=/dev/sda', '-nographic', '-hda', 'disk.img'], dir);
    expect([d.kernel, d.initrd, d.append]).toEqual(['bzImage', 'initrd.img', 'console=ttyS0 root=/dev/sda']);
    expect(d.display).toMatchObject({ type: 'none', nographic: true });
    expect(d.chardevs.find((c) => c.id === 'serial0')).toEqual({ id: 'serial0', backend: 'stdio', mux: true, options: {} });
    expect(d.monitor).toEqual([{ chardev: 'serial0', mode: 'readline', pretty: false }]);
    expect(d.chardevs.find((c) => c.id === 'parallel0')!.backend).toBe('null');
  });

  it('netdev user with restrict/net/dhcpstart/dns + -device e1000', async () => {
    const { desc: d } = await run(['-netdev', 'user,id=n0,net=10.0.3.0/24,dhcpstart=10.0.3.20,dns=10.0.3.3,restrict=on', '-device', 'e1000,netdev=n0,mac=52:54:00:aa:bb:cc'], dir);
    expect(d.netdevs).toEqual([{ id: 'n0', type: 'user', hub: null, hostfwd: [], options: { net: '10.0.3.0/24', dhcpstart: '10.0.3.20', dns: '10.0.3.3', restrict: 'on' } }]);
    expect(d.nics).toEqual([expect.objectContaining({ model: 'e1000', netdev: 'n0', mac: '52:54:00:aa:bb:cc', source: '-device' })]);
  });

  it('tap, socket, stream and dgram backends are mapped (real QEMU needs privileges or peers at run time)', async () => {
    const { desc: d } = await run([
      '-netdev', 'tap,id=t0,ifname=tap0,script=no,downscript=no', '-device', 'rtl8139,netdev=t0',
      '-netdev', 'socket,id=s0,listen=:1234', '-device', 'ne2k_pci,netdev=s0',
      '-netdev', 'stream,id=st0,server=off,addr.type=inet,addr.host=localhost,addr.port=1235', '-device', 'e1000,netdev=st0',
      '-netdev', 'dgram,id=dg0,local.type=inet,local.host=127.0.0.1,local.port=1236,remote.type=inet,remote.host=127.0.0.1,remote.port=1237', '-device', 'e1000,netdev=dg0',
      '-net', 'tap,ifname=tap1,script=no',
    ], dir);
    expect(d.netdevs.map((n) => [n.id, n.type, n.hub])).toEqual([['t0', 'tap', null], ['s0', 'socket', null], ['st0', 'stream', null], ['dg0', 'dgram', null], ['tap.0', 'tap', 0]]);
    expect(d.netdevs[0]!.options).toEqual({ ifname: 'tap0', script: 'no', downscript: 'no' });
    // MACs increment per NIC without an explicit one.
    expect(d.nics.map((n) => n.mac)).toEqual(['52:54:00:12:34:56', '52:54:00:12:34:57', '52:54:00:12:34:58', '52:54:00:12:34:59']);
  });

  it('an explicit MAC does not consume a default one; -net none disables the default NIC', async () => {
    const a = await run(['-net', 'nic,macaddr=02:00:00:00:00:01', '-net', 'nic', '-net', 'user'], dir);
    expect(a.desc.nics.map((n) => n.mac)).toEqual(['02:00:00:00:00:01', '52:54:00:12:34:56']);
    const b = await run(['-net', 'none'], dir);
    expect([b.desc.nics.length, b.desc.netdevs.length]).toEqual([0, 0]);
  });
});

describe('libvirt-generated line', () => {
  it('maps every option', async () => {
    const { desc: d } = await run([
      '-name', 'guest=vm1,debug-threads=on', '-S', '-machine', 'pc-i440fx-7.2,usb=off,dump-guest-core=off', '-accel', 'tcg',
      '-cpu', 'qemu64', '-m', '1024', '-overcommit', 'mem-lock=off', '-smp', '2,sockets=2,cores=1,threads=1',
      '-uuid', '6A5E0B39-5B1C-4C7E-9D2A-3F1B2C4D5E6F', '-no-user-config', '-nodefaults',
      '-chardev', 'socket,id=charmonitor,path=/tmp/mon.sock,server=on,wait=off', '-mon', 'chardev=charmonitor,id=monitor,mode=control',
      '-rtc', 'base=utc,driftfix=slew', '-global', 'kvm-pit.lost_tick_policy=delay', '-no-hpet', '-no-shutdown', '-boot', 'strict=on',
      '-drive', 'file=disk.qcow2,format=qcow2,if=none,id=drive-ide0-0-0,cache=none,werror=stop,rerror=stop',
      '-device', 'ide-hd,bus=ide.0,unit=0,drive=drive-ide0-0-0,id=ide0-0-0,bootindex=1',
      '-drive', 'file=xp.iso,format=raw,if=none,id=drive-ide0-1-0,readonly=on',
      '-device', 'ide-cd,bus=ide.1,unit=0,drive=drive-ide0-1-0,id=ide0-1-0',
      '-netdev', 'user,id=hostnet0', '-device', 'e1000,netdev=hostnet0,id=net0,mac=52:54:00:ab:cd:ef,bus=pci.0,addr=0x3',
      '-chardev', 'pty,id=charserial0', '-device', 'isa-serial,chardev=charserial0,id=serial0',
      '-vnc', '127.0.0.1:0', '-device', 'VGA,id=video0,vgamem_mb=16,bus=pci.0,addr=0x2', '-msg', 'timestamp=on',
    ], dir);
    expect(d.name).toBe('vm1');
    expect(d.uuid).toBe('6a5e0b39-5b1c-4c7e-9d2a-3f1b2c4d5e6f');
    expect(d.flags).toMatchObject({ startPaused: true, noShutdown: true, nodefaults: true, noUserConfig: true });
    expect(d.machine).toMatchObject({ versionedType: 'pc-i440fx-7.2', hpet: false, props: { usb: 'off', 'dump-guest-core': 'off' } });
    expect(d.smp).toEqual({ cpus: 2, maxcpus: 2, sockets: 2, dies: 1, cores: 1, threads: 1 });
    expect(d.qmp).toEqual([{ chardev: 'charmonitor', mode: 'control', pretty: false }]);
    expect(d.monitor).toEqual([]);
    expect(d.rtc).toEqual({ base: 'utc', clock: 'host', driftfix: 'slew' });
    expect(d.boot.strict).toBe(true);
    expect(d.drives).toEqual([
      expect.objectContaining({ id: 'drive-ide0-0-0', file: 'disk.qcow2', format: 'qcow2', interface: 'none', device: 'ide-hd', bus: 0, unit: 0, cache: 'none', werror: 'stop', rerror: 'stop', deviceId: 'ide0-0-0', deviceProps: { unit: '0', bootindex: '1' } }),
      expect.objectContaining({ id: 'drive-ide0-1-0', file: 'xp.iso', interface: 'none', device: 'ide-cd', bus: 1, unit: 0, media: 'cdrom', readonly: true }),
    ]);
    expect(d.nics).toEqual([expect.objectContaining({ model: 'e1000', netdev: 'hostnet0', mac: '52:54:00:ab:cd:ef', id: 'net0' })]);
    // -nodefaults: no default serial/parallel/monitor/VGA; the -device isa-serial is COM1.
    expect(d.serial).toEqual([]);
    expect(d.devices.find((x) => x.driver === 'isa-serial')).toMatchObject({ chardev: 'charserial0', iobase: 0x3f8, irq: 4, id: 'serial0' });
    expect(d.vga).toEqual({ type: 'none', device: null });
    expect(d.firmware.vgaBios).toBe('vgabios-stdvga.bin');
    expect(d.devices.find((x) => x.driver === 'VGA')).toMatchObject({ props: { vgamem_mb: '16', addr: '0x2' } });
    expect(d.display).toMatchObject({ type: 'vnc', vnc: { display: '127.0.0.1:0', options: {} } });
  });
});

describe('OS test-suite lines', () => {
  it('-nodefaults + file chardev + isa-debugcon + isa-debug-exit map completely', async () => {
    const { desc: d } = await run(['-nodefaults', '-chardev', 'file,id=ee,path=out.txt', '-device', 'isa-debugcon,iobase=0xe9,chardev=ee', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4', '-display', 'none', '-no-reboot', '-fda', 'floppy.img', '-boot', 'a'], dir);
    expect(d.chardevs).toEqual([{ id: 'ee', backend: 'file', mux: false, options: { path: 'out.txt' } }]);
    expect(d.devices).toEqual([
      expect.objectContaining({ driver: 'isa-debugcon', iobase: 0xe9, iosize: 1, chardev: 'ee' }),
      expect.objectContaining({ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4, chardev: null }),
    ]);
    expect([d.serial, d.parallel, d.monitor, d.nics, d.netdevs]).toEqual([[], [], [], [], []]);
    expect(d.drives).toEqual([expect.objectContaining({ id: 'floppy0', file: 'floppy.img', interface: 'floppy', unit: 0, device: 'floppy', sizeBytes: 1474560 })]);
    expect(d.display.type).toBe('none');
    expect(d.flags.noReboot).toBe(true);
  });

  it('-debugcon file:log and -serial file: make chardevs and the debugcon device at 0xe9', async () => {
    const { desc: d } = await run(['-debugcon', 'file:dbg.txt', '-serial', 'file:serial.txt', '-monitor', 'none', '-parallel', 'none'], dir);
    expect(d.devices).toEqual([expect.objectContaining({ driver: 'isa-debugcon', iobase: 0xe9, chardev: 'debugcon' })]);
    expect(d.chardevs).toEqual([
      { id: 'serial0', backend: 'file', mux: false, options: { path: 'serial.txt' } },
      { id: 'debugcon', backend: 'file', mux: false, options: { path: 'dbg.txt' } },
    ]);
    expect(d.monitor).toEqual([]);
    expect(d.parallel).toEqual([]);
  });
});

describe('teaching-OS and retro-OS lines', () => {
  it('xv6: -serial mon:stdio, two raw drives by index, -smp 2 -m 512', async () => {
    const { desc: d } = await run(['-nographic', '-serial', 'mon:stdio', '-drive', 'file=disk2.img,index=1,media=disk,format=raw', '-drive', 'file=disk.img,index=0,media=disk,format=raw', '-smp', '2', '-m', '512'], dir);
    expect(d.drives.slice(0, 2).map((x) => [x.file, x.bus, x.unit, x.id])).toEqual([['disk2.img', 0, 1, 'ide0-hd1'], ['disk.img', 0, 0, 'ide0-hd0']]);
    expect(d.smp.cpus).toBe(2);
    // -serial mon:stdio carries the monitor, so no second (stdio) monitor is added.
    expect(d.monitor).toEqual([{ chardev: 'serial0', mode: 'readline', pretty: false }]);
    expect(d.chardevs.filter((c) => c.backend === 'stdio').map((c) => c.id)).toEqual(['serial0']);
  });

  it('MIT 6.828 JOS: -gdb tcp::26000 -D qemu.log -d int', async () => {
    const { desc: d } = await run(['-drive', 'file=disk.img,index=0,media=disk,format=raw', '-serial', 'mon:stdio', '-gdb', 'tcp::26000', '-D', 'qemu.log', '-d', 'int', '-display', 'none'], dir);
    expect(d.gdb).toBe('tcp::26000');
    expect(d.logging).toEqual({ items: ['int'], file: 'qemu.log' });
  });

  it('Windows 98: pentium, cirrus, ne2k_pci on hub 0, localtime RTC, USB', async () => {
    const { desc: d } = await run(['-cpu', 'pentium', '-m', '128', '-hda', 'disk.img', '-cdrom', 'xp.iso', '-boot', 'd', '-vga', 'cirrus', '-device', 'sb16', '-device', 'adlib', '-net', 'nic,model=ne2k_pci', '-net', 'user', '-rtc', 'base=localtime', '-usb'], dir);
    expect(d.cpu).toMatchObject({ model: 'pentium', longMode: false });
    expect(d.vga).toEqual({ type: 'cirrus', device: 'cirrus-vga' });
    expect(d.firmware.vgaBios).toBe('vgabios-cirrus.bin');
    expect(d.devices.map((x) => [x.driver, x.iobase])).toEqual([['sb16', 0x220], ['adlib', 0x220]]);
    expect(d.nics).toEqual([expect.objectContaining({ model: 'ne2k_pci', hub: 0, romfile: 'efi-ne2k_pci.rom' })]);
    expect(d.rtc.base).toBe('localtime');
    expect(d.usb.enabled).toBe(true);
  });

  it('FreeDOS on isapc: -M isapc -cpu 486 -m 32 -fda floppy.img -boot a -net nic -net user', async () => {
    const { desc: d } = await run(['-M', 'isapc', '-cpu', '486', '-m', '32', '-fda', 'floppy.img', '-boot', 'a', '-net', 'nic', '-net', 'user'], dir);
    expect(d.drives[0]).toMatchObject({ interface: 'floppy', unit: 0, file: 'floppy.img', device: 'floppy', id: 'floppy0' });
    expect(d.drives.map((x) => x.id)).toEqual(['floppy0', 'ide1-cd0']);
    expect(d.nics).toEqual([expect.objectContaining({ model: 'ne2k_isa', iobase: 0x300, irq: 9 })]);
  });
});

describe('option details', () => {
  it('-m sizes follow QEMU (suffix-less = MiB, fractions need a unit, 8 KiB rounding, 0 = default)', async () => {
    // Values observed with `info memory_size_summary` on QEMU 7.2.
    const size = async (m: string) => (await run(['-m', m], dir)).desc.memory.sizeBytes;
    expect(await size('1.5G')).toBe(1610612736);
    expect(await size('100k')).toBe(106496);
    expect(await size('0')).toBe(134217728);
    expect(await size('size=2G,slots=2,maxmem=4G')).toBe(2 ** 31);
    expect((await run(['-m', '512', '-m', 'maxmem=1G'], dir)).desc.memory).toEqual({ sizeBytes: 512 << 20, maxBytes: 1 << 30, slots: 0 });
  });

  it('-smp topology: cores preferred on 7.2, sockets on pc-i440fx-6.1 and older', async () => {
    expect((await run(['-smp', '4'], dir)).desc.smp).toEqual({ cpus: 4, maxcpus: 4, sockets: 1, dies: 1, cores: 4, threads: 1 });
    expect((await run(['-M', 'pc-i440fx-6.1', '-smp', '4'], dir)).desc.smp).toEqual({ cpus: 4, maxcpus: 4, sockets: 4, dies: 1, cores: 1, threads: 1 });
    expect((await run(['-smp', 'cpus=2,maxcpus=8,threads=2'], dir)).desc.smp).toEqual({ cpus: 2, maxcpus: 8, sockets: 1, dies: 1, cores: 4, threads: 2 });
  });

  it('-cpu features: +f/-f/f=on|off with aliases; -f wins over +f', async () => {
    const { desc: d } = await run(['-cpu', 'qemu64,+sse3,-nx,vme=off,lahf_lm=on,+nx,model-id=Foo'], dir);
    expect(d.cpu).toEqual({ model: 'qemu64', features: { pni: true, nx: false, vme: false, 'lahf-lm': true }, props: { 'model-id': 'Foo' }, longMode: true });
    expect((await run(['-cpu', '486'], dir)).desc.cpu.longMode).toBe(false);
    expect((await run(['-cpu', 'Opteron_G1'], dir)).desc.cpu.model).toBe('Opteron_G1');
    expect((await run(['-cpu', 'pentium3-v1'], dir)).desc.cpu.model).toBe('pentium3');
  });

  it('-boot with order/once/menu/splash-time/reboot-timeout/strict', async () => {
    const { desc: d } = await run(['-boot', 'order=cd,once=n,menu=on,splash-time=5000,reboot-timeout=-1,strict=on'], dir);
    expect(d.boot).toEqual({ order: 'cd', once: 'n', menu: true, splash: null, splashTimeMs: 5000, rebootTimeoutMs: -1, strict: true });
  });

  it('-drive: ,, escapes a comma in the file name; index maps to bus/unit; -snapshot applies to all', async () => {
    const { desc: d, warnings } = await run(['-drive', 'file=a,,b.img,format=raw,index=3', '-drive', 'file=disk.img,if=floppy,unit=1,format=raw', '-snapshot', '-hda', 'disk2.img'], dir);
    expect(d.drives[0]).toMatchObject({ file: 'a,b.img', bus: 1, unit: 1, index: 3, id: 'ide1-hd1', snapshot: true });
    expect(d.drives[1]).toMatchObject({ interface: 'floppy', unit: 1, id: 'floppy1', device: 'floppy' });
    expect(d.drives[2]).toMatchObject({ file: 'disk2.img', snapshot: true, formatProbed: true });
    expect(d.flags.snapshot).toBe(true);
    // A -snapshot drive is opened read-only underneath: no raw-probing warning (as QEMU).
    expect(warnings.filter((w) => w.startsWith('WARNING'))).toEqual([]);
  });

  it('-drive if=none + -device ide-hd takes the first free IDE slot after legacy drives', async () => {
    const { desc: d } = await run(['-drive', 'if=none,id=d0,file=disk2.img,format=raw', '-hda', 'disk.img', '-device', 'ide-hd,drive=d0'], dir);
    expect(d.drives.find((x) => x.id === 'd0')).toMatchObject({ bus: 0, unit: 1, device: 'ide-hd', interface: 'none' });
    // Storage frontends live on their drive, not in devices[].
    expect(d.devices).toEqual([]);
  });

  it('-device ide-cd without drive= is an empty CD-ROM drive in the next free IDE slot', async () => {
    const { desc: d } = await run(['-nodefaults', '-hda', 'disk.img', '-device', 'ide-cd,id=cd0,bus=ide.1'], dir);
    expect(d.drives[1]).toMatchObject({ file: null, device: 'ide-cd', media: 'cdrom', readonly: true, bus: 1, unit: 0, deviceId: 'cd0', source: '-device' });
  });

  it('qcow2 images are probed as qcow2', async () => {
    const { desc: d } = await run(['-hda', 'disk.qcow2'], dir);
    expect(d.drives[0]).toMatchObject({ format: 'qcow2', formatProbed: true });
  });

  it('display options: -display vnc=, -vnc, -display curses, sdl + -full-screen', async () => {
    expect((await run(['-display', 'vnc=:1'], dir)).desc.display).toMatchObject({ type: 'vnc', vnc: { display: ':1' } });
    expect((await run(['-vnc', ':2,password=on'], dir)).desc.display).toMatchObject({ type: 'vnc', vnc: { display: ':2', options: { password: 'on' } } });
    expect((await run(['-display', 'curses'], dir)).desc.display.type).toBe('curses');
    expect((await run(['-display', 'sdl', '-full-screen'], dir)).desc.display).toMatchObject({ type: 'sdl', fullScreen: true });
    expect((await run([], dir)).desc.display.type).toBe('default');
  });

  it('legacy chardev strings: tcp server with short-form booleans, telnet, udp, unix, pty', async () => {
    const { desc: d, warnings } = await run(['-serial', 'tcp::4444,server,nowait', '-serial', 'telnet:localhost:4445,server=on,wait=off', '-serial', 'udp::4446@:4447', '-serial', 'unix:/tmp/s.sock,server=on', '-monitor', 'pty', '-parallel', 'none'], dir);
    expect(d.chardevs.filter((c) => c.id.startsWith('serial')).map((c) => [c.backend, c.options])).toEqual([
      ['socket', { host: '', port: '4444', server: 'on', wait: 'off' }],
      ['socket', { host: 'localhost', port: '4445', telnet: 'on', server: 'on', wait: 'off' }],
      ['udp', { host: 'localhost', port: '4446', localaddr: '', localport: '4447' }],
      ['socket', { path: '/tmp/s.sock', server: 'on' }],
    ]);
    expect(d.serial.map((s) => s.iobase)).toEqual([0x3f8, 0x2f8, 0x3e8, 0x2e8]);
    expect(d.monitor).toEqual([{ chardev: 'compat_monitor0', mode: 'readline', pretty: false }]);
    // QEMU 7.2 takes the legacy socket flags without the short-form boolean warning.
    expect(warnings.filter((w) => w.includes('short-form'))).toEqual([]);
  });

  it('-qmp, -qmp-pretty, -gdb/-s, -d/-D, -pidfile, -daemonize, -loadvm, -icount, -k, -usb, -usbdevice, -option-rom', async () => {
    const { desc: d } = await run(['-qmp', 'unix:/tmp/q.sock,server,nowait', '-s', '-d', 'int,cpu_reset', '-D', 'log.txt', '-pidfile', 'q.pid', '-daemonize', '-loadvm', 'snap1', '-icount', 'shift=7', '-k', 'de', '-usb', '-usbdevice', 'tablet', '-option-rom', 'bzImage,bootindex=2'], dir);
    expect(d.qmp).toEqual([{ chardev: 'compat_monitor0', mode: 'control', pretty: false }]);
    expect(d.monitor).toEqual([]);
    expect(d.gdb).toBe('tcp::1234');
    expect(d.logging).toEqual({ items: ['int', 'cpu_reset'], file: 'log.txt' });
    expect([d.pidfile, d.flags.daemonize, d.loadvm, d.icount, d.keyboardLayout]).toEqual(['q.pid', true, 'snap1', { shift: '7' }, 'de']);
    expect(d.usb).toEqual({ enabled: true, devices: ['tablet'] });
    expect(d.firmware.optionRoms).toEqual([{ file: 'bzImage', path: `${dir}/bzImage`, bootindex: 2, romfile: null }]);
  });

  it('-accel kvm:tcg falls back to tcg with a warning', async () => {
    const { desc: d, warnings } = await run(['-machine', 'accel=kvm:tcg'], dir);
    expect(d.machine.accel).toBe('tcg');
    expect(warnings).toContain('warning: accelerator kvm is not available in qemu-ts; falling back to tcg');
  });

  it('-rtc with a start date, -no-acpi, -global, -name', async () => {
    const { desc: d } = await run(['-rtc', 'base=2006-06-17T16:01:21,clock=vm', '-no-acpi', '-global', 'isa-fdc.fdtypeA=144', '-name', 'test'], dir);
    expect(d.rtc).toEqual({ base: '2006-06-17T16:01:21', clock: 'vm', driftfix: 'none' });
    expect(d.machine.acpi).toBe(false);
    expect(d.globals).toEqual([{ driver: 'isa-fdc', property: 'fdtypeA', value: '144' }]);
    expect(d.name).toBe('test');
  });

  it('-readconfig reads [drive]/[device]/[machine]/[memory] groups', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/vm.cfg`, '# qemu config file\n[machine]\n  type = "isapc"\n\n[memory]\n  size = "64"\n\n[drive "d0"]\n  file = "disk.img"\n  format = "raw"\n  if = "ide"\n');
    const { desc: d } = await run(['-readconfig', 'vm.cfg'].map((x) => x === 'vm.cfg' ? `${dir}/vm.cfg` : x), dir);
    expect(d.machine.type).toBe('isapc');
    expect(d.memory.sizeBytes).toBe(64 << 20);
    expect(d.drives[0]).toMatchObject({ id: 'd0', file: 'disk.img', format: 'raw', bus: 0, unit: 0 });
  });

  it('--double-dash options and a bare disk image are accepted', async () => {
    const { desc: d } = await run(['--m', '256', 'disk.img', '--nographic'], dir);
    expect(d.memory.sizeBytes).toBe(256 << 20);
    expect(d.drives[0]!.file).toBe('disk.img');
    expect(d.display.nographic).toBe(true);
  });

  it('the description is plain JSON (round-trips unchanged)', async () => {
    const { desc: d } = await run(['-hda', 'disk.img', '-net', 'nic', '-net', 'user,hostfwd=tcp::2222-:22'], dir);
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });
});
