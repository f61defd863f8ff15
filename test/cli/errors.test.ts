/**
 * Error cases. Each expected text is what qemu-system-x86_64 7.2 printed for the same line
 * (after its program name), except where a comment says qemu-ts words it its own way.
 */
import { describe, expect, it } from 'vitest';
import { errorOf, scratch } from './helpers.js';

const dir = scratch();
const SIZE_HINT = 'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.';

const SAME_AS_QEMU: [string[], string][] = [
  [['-m', '1024X'], `-m 1024X: Parameter 'size' expects a non-negative number below 2^64\n${SIZE_HINT}`],
  [['-m', '1.5'], `-m 1.5: Parameter 'size' expects a non-negative number below 2^64\n${SIZE_HINT}`],
  [['-m', '-1'], `-m -1: Parameter 'size' expects a non-negative number below 2^64\n${SIZE_HINT}`],
  [['-m', '1e3'], `-m 1e3: Parameter 'size' expects a non-negative number below 2^64\n${SIZE_HINT}`],
  [['-m', 'foo=1'], "-m foo=1: Invalid parameter 'foo'"],
  [['-m', '1G,maxmem=512M'], 'invalid value of maxmem: maximum memory size (0x20000000) must be at least the initial memory size (0x40000000)'],
  [['-m'], '-m: requires an argument'],
  [['-foo'], '-foo: invalid option'],
  [['-M', 'q35x'], 'unsupported machine type\nUse -machine help to list supported machines'],
  [['-M', 'pc,usb=maybe'], "Parameter 'usb' expects 'on' or 'off'"],
  [['-M', 'pc,foo=bar'], "Property 'pc-i440fx-7.2-machine.foo' not found"],
  [['-accel', 'bogus'], '-accel bogus: invalid accelerator bogus'],
  [['-cpu', 'host'], "CPU model 'host' requires KVM or HVF"],
  [['-cpu', 'foo'], "unable to find CPU model 'foo'"],
  [['-cpu', 'qemu64,+bogus'], "Property 'qemu64-x86_64-cpu.bogus' not found"],
  [['-cpu', '486,bogus=on'], "can't apply global 486-x86_64-cpu.bogus=on: Property '486-x86_64-cpu.bogus' not found"],
  [['-smp', '300'], "Invalid SMP CPUs 300. The max CPUs supported by machine 'pc-i440fx-7.2' is 255"],
  [['-smp', '2,threads=3'], 'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (1) * dies (1) * cores (0) * threads (3) != maxcpus (2)'],
  [['-smp', 'cpus=4,maxcpus=2'], 'Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)'],
  [['-boot', 'x'], "Invalid boot device 'x'"],
  [['-boot', 'order=z'], "Invalid boot device 'z'"],
  [['-boot', 'cc'], "Boot device 'c' was given twice"],
  [['-boot', 'on'], "Invalid boot device for PC: 'o'"],
  [['-M', 'a=b'], "Property 'pc-i440fx-7.2-machine.a' not found"],
  [['-global', 'xp.img'], "-global xp.img: Invalid parameter 'xp.img'"],
  [['-debugcon', 'none'], "-debugcon none: 'none' is not a valid char driver"],
  [['-gdb', '0'], "-gdb 0: '0' is not a valid char driver"],
  [['-gdb', 'help'], "-gdb help: 'help' is not a valid char driver"],
  [['-gdb', '1,2'], "-gdb 1,2: '1,2' is not a valid char driver"],
  [['-boot', 'menu=maybe'], "Parameter 'boot.menu' expects 'on' or 'off'"],
  [['-boot', 'menu=on,splash-time=x'], "Parameter 'boot.splash-time' expects integer"],
  [['-drive', 'file=xp.img,format=raw,if=ide,index=0', '-hda', 'xp.img'], '-hda xp.img: drive with bus=0, unit=0 (index=0) exists'],
  [['-hda', 'xp.img', '-drive', 'file=xp.img,if=ide,bus=0,unit=0'], '-drive file=xp.img,if=ide,bus=0,unit=0: drive with bus=0, unit=0 (index=-1) exists'],
  [['-drive', 'file=xp.img,if=foo'], "-drive file=xp.img,if=foo: unsupported bus type 'foo'"],
  [['-drive', 'file=xp.img,format=qcow2'], '-drive file=xp.img,format=qcow2: Image is not in qcow2 format'],
  [['-drive', 'file=xp.img,format=raw,cache=bogus'], '-drive file=xp.img,format=raw,cache=bogus: invalid cache option'],
  [['-drive', 'file=xp.img,format=raw,media=tape'], "-drive file=xp.img,format=raw,media=tape: 'tape' invalid media"],
  [['-drive', 'file=xp.img,format=raw,werror=bogus'], "-drive file=xp.img,format=raw,werror=bogus: 'bogus' invalid write error action"],
  [['-drive', 'file=xp.img,format=raw,snapshot=maybe'], "-drive file=xp.img,format=raw,snapshot=maybe: Parameter 'snapshot' expects 'on' or 'off'"],
  [['-drive', 'file=xp.img,format=raw,bogus=1'], "-drive file=xp.img,format=raw,bogus=1: Block format 'raw' does not support the option 'bogus'"],
  [['-drive', 'file=xp.img,format=raw,index=4'], '-drive file=xp.img,format=raw,index=4: machine type does not support if=ide,bus=2,unit=0'],
  [['-drive', 'file=xp.img,format=raw,bus=2'], '-drive file=xp.img,format=raw,bus=2: machine type does not support if=ide,bus=2,unit=0'],
  [['-drive', 'file=xp.img,format=raw,unit=2'], '-drive file=xp.img,format=raw,unit=2: unit 2 too big (max is 1)'],
  [['-drive', 'file=xp.img,format=raw,if=floppy,unit=2'], '-drive file=xp.img,format=raw,if=floppy,unit=2: machine type does not support if=floppy,bus=0,unit=2'],
  [['-drive', 'if=ide,index=1'], 'Device needs media, but drive is empty'],
  [['-hda', 'nonexist.img'], "-hda nonexist.img: Could not open 'nonexist.img': No such file or directory"],
  [['-cdrom', 'nonexist.iso'], "-cdrom nonexist.iso: Could not open 'nonexist.iso': No such file or directory"],
  [['-fda', 'nonexist'], "-fda nonexist: Could not open 'nonexist': No such file or directory"],
  [['-hda', '/tmp'], "-hda /tmp: 'file' driver requires '/tmp' to be a regular file"],
  [['-hda', 'xp.img', '-hdb', 'xp.img'], 'Failed to get "write" lock\nIs another process using the image [xp.img]?'],
  [['-hda', 'xp.img', '-cdrom', 'xp.img'], 'Failed to get shared "write" lock\nIs another process using the image [xp.img]?'],
  [['-device', 'ide-hd,drive=nope'], "-device ide-hd,drive=nope: Property 'ide-hd.drive' can't find value 'nope'"],
  [['-device', 'ide-hd'], '-device ide-hd: No drive specified'],
  [['-drive', 'if=none,id=d0,file=xp.img,format=raw', '-device', 'ide-hd,drive=d0,bus=ide.0,unit=0', '-hda', 'xp.iso'], '-device ide-hd,drive=d0,bus=ide.0,unit=0: IDE unit 0 is in use'],
  [['-hda', 'xp.img', '-device', 'ide-hd,drive=ide0-hd0'], "-device ide-hd,drive=ide0-hd0: Drive 'ide0-hd0' is already in use because it has been automatically connected to another device (did you need 'if=none' in the drive options?)"],
  [['-device', 'foo'], "-device foo: 'foo' is not a valid device model name"],
  [['-M', 'isapc', '-device', 'e1000'], "-device e1000: No 'PCI' bus found for device 'e1000'"],
  [['-device', 'isa-debugcon,chardev=nope'], "-device isa-debugcon,chardev=nope: Property 'isa-debugcon.chardev' can't find value 'nope'"],
  [['-device', 'isa-debugcon,iobase=zz'], "-device isa-debugcon,iobase=zz: Parameter 'iobase' expects integer"],
  [['-device', 'e1000,netdev=nope'], "-device e1000,netdev=nope: Property 'e1000.netdev' can't find value 'nope'"],
  [['-net', 'nic,model=foo'], 'Unsupported NIC model: foo'],
  [['-net', 'nic,macaddr=zz'], '-net nic,macaddr=zz: invalid syntax for ethernet address'],
  [['-netdev', 'user,id=n0,hostfwd=bad'], "-netdev user,id=n0,hostfwd=bad: Invalid host forwarding rule 'bad' (No : separators)"],
  [['-netdev', 'user,id=n0', '-netdev', 'user,id=n0'], "-netdev user,id=n0: Duplicate ID 'n0' for netdev"],
  [['-netdev', 'user'], "-netdev user: Parameter 'id' is missing"],
  [['-netdev', 'bogus,id=x'], "-netdev bogus,id=x: Parameter 'type' does not accept value 'bogus'"],
  [['-chardev', 'file,id=ee'], '-chardev file,id=ee: chardev: file: no filename given'],
  [['-chardev', 'bogus,id=x'], "-chardev bogus,id=x: 'bogus' is not a valid char driver name"],
  [['-chardev', 'stdio'], '-chardev stdio: chardev: no id specified'],
  [['-serial', 'bogus:x'], "-serial bogus:x: 'bogus:x' is not a valid char driver\nqemu-ts-system-x86_64: -serial bogus:x: could not connect serial device to character backend 'bogus:x'"],
  [['-serial', 'stdio', '-serial', 'stdio'], "-serial stdio: cannot use stdio by multiple character devices\nqemu-ts-system-x86_64: -serial stdio: could not connect serial device to character backend 'stdio'"],
  [['-parallel', 'null', '-parallel', 'null', '-parallel', 'null', '-parallel', 'null'], '-parallel null: too many parallel ports'],
  [['-mon', 'chardev=x'], '-mon chardev=x: chardev "x" not found'],
  [['-vga', 'bogus'], 'unknown vga type: bogus'],
  [['-display', 'bogus'], "-display bogus: Parameter 'type' does not accept value 'bogus'"],
  [['-vnc', 'bogus'], '-vnc bogus: no vnc port specified'],
  [['-rtc', 'base=bogus'], "invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'"],
  [['-rtc', 'base=localtime,clock=bogus'], "invalid option value 'bogus'"],
  [['-uuid', 'bad'], '-uuid bad: failed to parse UUID string: wrong format'],
  [['-initrd', 'x'], '-initrd only allowed with -kernel option'],
  [['-kernel', 'bzImage', '-initrd', 'initrd.img'], 'linux kernel too old to load a ram disk'],
  [['-kernel', 'linux-nomax.bin', '-initrd', 'initrd.img'], 'initrd is too large, cannot support.(max: 0, need 4096)'],
  [['-append', 'x'], '-append only allowed with -kernel option'],
  [['-nographic', '-serial', 'stdio'], "-serial stdio: cannot use stdio by multiple character devices\nqemu-ts-system-x86_64: -serial stdio: could not connect serial device to character backend 'stdio'"],
  [['-daemonize', '-nographic'], '-nographic cannot be used with -daemonize'],
  [['-drive', 'file=xp.img,if=scsi,format=raw'], '-drive file=xp.img,if=scsi,format=raw: machine type does not support if=scsi,bus=0,unit=0'],
  [['-usbdevice', 'tablet', '-M', 'isapc'], "-usbdevice tablet: Error: no usb bus to attach usbdevice tablet, please try -machine usb=on and check that the machine model supports USB\nqemu-ts-system-x86_64: -usbdevice tablet: could not add USB device 'tablet'"],
  [['-pidfile', '/nonexistent/dir/x.pid'], "cannot create PID file: Could not create '/nonexistent/dir/x.pid': No such file or directory"],
  [['-D', '/nonexistent/x.log'], 'Error opening logfile /nonexistent/x.log: No such file or directory'],
  [['-M', 'pc-i440fx-2.0', '-m', 'size=256M,slots=2,maxmem=1G'], `"-memory 'slots|maxmem'" is not supported by: pc-i440fx-2.0`],
  [['-m', '256M,slots=2'], 'slots specified but no max-size'],
  [['-global', 'isa-fdc.driveX=x'], "can't apply global isa-fdc.driveX=x: Property 'isa-fdc.driveX' not found"],
];

describe('errors worded as QEMU 7.2 words them', () => {
  for (const [args, msg] of SAME_AS_QEMU) {
    it(args.join(' '), async () => {
      expect(await errorOf(args, dir)).toBe(msg);
    });
  }
});

describe('qemu-ts errors that name the flag and say what to do', () => {
  it('KVM is rejected (QEMU without KVM fails the same way)', async () => {
    expect(await errorOf(['-enable-kvm'], dir)).toMatch(/^failed to initialize kvm: qemu-ts has no KVM support\n.*-enable-kvm/);
    expect(await errorOf(['-accel', 'kvm'], dir)).toMatch(/^failed to initialize kvm/);
    expect(await errorOf(['-M', 'pc,accel=kvm'], dir)).toMatch(/^failed to initialize kvm/);
  });
  it('q35 is "not yet"', async () => {
    expect(await errorOf(['-M', 'q35'], dir)).toBe("machine type 'q35' is not supported by qemu-ts yet\nUse -machine help to list supported machines (pc, isapc)");
  });
  it('devices, displays and options qemu-ts lacks', async () => {
    expect(await errorOf(['-device', 'virtio-net-pci'], dir)).toBe("-device virtio-net-pci: device 'virtio-net-pci' is not supported by qemu-ts yet");
    expect(await errorOf(['-vga', 'qxl'], dir)).toBe("-vga qxl: vga type 'qxl' is not supported by qemu-ts (use std or cirrus)");
    expect(await errorOf(['-spice', 'port=5900'], dir)).toMatch(/^-spice: option not supported by qemu-ts/);
    expect(await errorOf(['-netdev', 'vde,id=v'], dir)).toBe("-netdev vde,id=v: network backend 'vde' is not supported by qemu-ts");
  });
  it('a missing BIOS lists every place searched and how to install it', async () => {
    const e = (await errorOf(['-L', 'fw1', '-L', '/opt/fw2', '-bios', 'nothere.bin'], dir))!;
    const lines = e.split('\n');
    expect(lines[0]).toBe("could not load PC BIOS 'nothere.bin'");
    expect(lines.slice(2, 5)).toEqual([`  ${dir}/nothere.bin`, `  ${dir}/fw1/nothere.bin`, '  /opt/fw2/nothere.bin']);
    expect(e).toContain('/usr/share/seabios/nothere.bin');
    expect(e).toContain('apt-get install seabios');
  });
  it('block protocols other than plain files', async () => {
    expect(await errorOf(['-hdb', 'fat:rw:/tmp'], dir)).toBe("-hdb fat:rw:/tmp: block protocol 'fat' is not supported by qemu-ts (use an image file)");
    expect(await errorOf(['-drive', 'file=nbd:localhost:10809'], dir)).toMatch(/block protocol 'nbd' is not supported/);
  });
  it('a Windows drive path that does not exist here', async () => {
    expect(await errorOf(['-hda', 'C:\\VMs\\xp.img'], dir)).toMatch(/^-hda C:\\VMs\\xp.img: Could not open 'C:\\VMs\\xp.img': a Windows drive path/);
  });
  it('-d with an unknown item prints the item list and exits 1, as QEMU', async () => {
    expect(await errorOf(['-d', 'bogus'], dir)).toBe('exit 1');
  });
});
