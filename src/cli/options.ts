/**
 * The option table: every QEMU 7.2 system-emulator option (plus the legacy spellings old scripts
 * use), with its argument, help line and qemu-ts status. It drives the argv parser (which names
 * take an argument), `-help`, and docs/cli.md (a test checks the doc lists every entry).
 *
 * status:
 * - mapped: parsed and put into the machine description;
 * - legacy: an old spelling, accepted with a one-line deprecation warning and mapped;
 * - ignored: accepted and has no effect (QEMU also ignores it, or it only concerns the host);
 * - unsupported: rejected with a message naming the flag (a feature qemu-ts does not have).
 */
export type OptionStatus = 'mapped' | 'legacy' | 'ignored' | 'unsupported';
export type OptionSection =
  | 'Standard' | 'Block device' | 'USB' | 'Display' | 'i386 target only' | 'Network' | 'Character device'
  | 'Boot Image or Kernel specific' | 'Debug/Expert' | 'qemu-ts' | 'Legacy (removed from QEMU)';

export interface OptionDef {
  name: string;
  /** Metavariable of the argument, or null for a flag. */
  arg: string | null;
  section: OptionSection;
  help: string;
  status: OptionStatus;
  /** Extra words for docs/cli.md. */
  note?: string;
}

const o = (name: string, arg: string | null, section: OptionSection, status: OptionStatus, help: string, note?: string): OptionDef =>
  note === undefined ? { name, arg, section, help, status } : { name, arg, section, help, status, note };

export const OPTIONS: readonly OptionDef[] = [
  // Standard
  o('h', null, 'Standard', 'mapped', 'display this help and exit'),
  o('help', null, 'Standard', 'mapped', 'display this help and exit'),
  o('version', null, 'Standard', 'mapped', 'display version information and exit'),
  o('machine', '[type=]name[,prop=value...]', 'Standard', 'mapped', 'select emulated machine (-machine help for a list)', 'pc, pc-i440fx-1.4..7.2, isapc; q35 not yet; accel=tcg only; usb, acpi, hpet, vmport...'),
  o('M', 'name', 'Standard', 'mapped', 'same as -machine'),
  o('cpu', 'model[,+feat|-feat|feat=on|off...]', 'Standard', 'mapped', 'select CPU (-cpu help for a list)', 'host rejected (needs KVM)'),
  o('accel', 'name[,prop=value...]', 'Standard', 'mapped', 'select accelerator: tcg (kvm, xen, hax, whpx are rejected)'),
  o('smp', '[cpus=]n[,maxcpus=][,sockets=][,dies=][,cores=][,threads=]', 'Standard', 'mapped', 'set the number of CPUs and the topology'),
  o('numa', 'node[,...]', 'Standard', 'unsupported', 'NUMA topology'),
  o('add-fd', 'fd=fd,set=set[,opaque=opaque]', 'Standard', 'unsupported', 'add a file descriptor to an fd set'),
  o('set', 'group.id.arg=value', 'Standard', 'unsupported', 'set a parameter for an item in a config group'),
  o('global', 'driver.property=value', 'Standard', 'mapped', 'set a default value of a driver property'),
  o('boot', '[order=drives][,once=drives][,menu=on|off][,splash=file][,splash-time=ms][,reboot-timeout=ms][,strict=on|off]', 'Standard', 'mapped', 'boot order, first-boot order and menu; legacy "-boot dc" form'),
  o('m', '[size=]megs[,slots=n,maxmem=size]', 'Standard', 'mapped', 'set RAM size (default unit MiB; k, M, G, T suffixes)'),
  o('mem-path', 'file', 'Standard', 'unsupported', 'back guest RAM with a file'),
  o('mem-prealloc', null, 'Standard', 'ignored', 'preallocate guest memory (always allocated up front in qemu-ts)'),
  o('k', 'language', 'Standard', 'mapped', 'keyboard layout (for VNC)'),
  o('audio-help', null, 'Standard', 'unsupported', 'list audio backend options'),
  o('audio', '[driver=]driver[,model=value]', 'Standard', 'unsupported', 'audio backend and model'),
  o('audiodev', '[driver=]driver,id=id[,...]', 'Standard', 'unsupported', 'audio backend'),
  o('device', 'driver[,prop[=value]...]', 'Standard', 'mapped', 'add a device (-device help, -device NAME,help)'),
  o('name', 'string[,process=name][,debug-threads=on|off]', 'Standard', 'mapped', 'guest name'),
  o('uuid', '%08x-%04x-%04x-%04x-%012x', 'Standard', 'mapped', 'system UUID'),
  // Block
  o('fda', 'file', 'Block device', 'mapped', 'use file as floppy disk 0 image'),
  o('fdb', 'file', 'Block device', 'mapped', 'use file as floppy disk 1 image'),
  o('hda', 'file', 'Block device', 'mapped', 'use file as IDE hard disk 0 image'),
  o('hdb', 'file', 'Block device', 'mapped', 'use file as IDE hard disk 1 image'),
  o('hdc', 'file', 'Block device', 'mapped', 'use file as IDE hard disk 2 image'),
  o('hdd', 'file', 'Block device', 'mapped', 'use file as IDE hard disk 3 image'),
  o('cdrom', 'file', 'Block device', 'mapped', 'use file as IDE cdrom image (cdrom is ide1 master)'),
  o('blockdev', 'driver=...,node-name=...', 'Block device', 'unsupported', 'configure a block backend node graph (use -drive)'),
  o('drive', '[file=file][,if=type][,bus=n][,unit=m][,index=i][,media=d][,format=f][,snapshot=on|off][,cache=c][,readonly=on|off][,id=name][,werror=a][,rerror=a]', 'Block device', 'mapped', 'use file as a drive image'),
  o('mtdblock', 'file', 'Block device', 'unsupported', 'on-board Flash memory image'),
  o('sd', 'file', 'Block device', 'unsupported', 'SD card image'),
  o('pflash', 'file', 'Block device', 'unsupported', 'parallel flash image'),
  o('snapshot', null, 'Block device', 'mapped', 'write to temporary files instead of disk image files'),
  o('fsdev', 'driver,id=id,...', 'Block device', 'unsupported', '9p file system device'),
  o('virtfs', 'driver,path=path,...', 'Block device', 'unsupported', '9p file system export'),
  o('iscsi', '[user=user][,password=password]...', 'Block device', 'unsupported', 'iSCSI initiator parameters'),
  // USB
  o('usb', null, 'USB', 'mapped', 'enable on-board USB host controller (if not enabled by default)'),
  o('usbdevice', 'name', 'USB', 'mapped', 'add the host or guest USB device "name" (tablet, mouse, keyboard...)'),
  // Display
  o('display', 'type[,opt=value...]', 'Display', 'mapped', 'select display backend: none, sdl, curses, gtk, vnc=<display>, egl-headless'),
  o('nographic', null, 'Display', 'mapped', 'disable graphical output and redirect serial I/Os to console'),
  o('curses', null, 'Display', 'mapped', 'shorthand for -display curses'),
  o('sdl', null, 'Display', 'mapped', 'shorthand for -display sdl'),
  o('alt-grab', null, 'Display', 'ignored', 'use Ctrl-Alt-Shift to grab mouse'),
  o('ctrl-grab', null, 'Display', 'ignored', 'use Right-Ctrl to grab mouse'),
  o('no-quit', null, 'Display', 'ignored', 'disable SDL window close capability'),
  o('spice', 'port=port[,...]', 'Display', 'unsupported', 'enable the SPICE server'),
  o('portrait', null, 'Display', 'ignored', 'rotate graphical output 90 deg left (only PXA LCD)'),
  o('rotate', 'deg', 'Display', 'ignored', 'rotate graphical output some deg left (only PXA LCD)'),
  o('vga', 'type', 'Display', 'mapped', 'select video card type: std, cirrus, none (-vga help)'),
  o('full-screen', null, 'Display', 'mapped', 'start in full screen'),
  o('g', 'WxH[xDEPTH]', 'Display', 'unsupported', 'initial graphical resolution and depth (not used on x86)'),
  o('vnc', 'display[,option[,option[,...]]]', 'Display', 'mapped', 'start a VNC server on display'),
  // i386
  o('win2k-hack', null, 'i386 target only', 'legacy', 'use it when installing Windows 2000 to avoid a disk full bug', 'accepted with a warning; no effect'),
  o('no-fd-bootchk', null, 'i386 target only', 'mapped', 'disable boot signature checking for floppy disks'),
  o('no-acpi', null, 'i386 target only', 'mapped', 'disable ACPI'),
  o('no-hpet', null, 'i386 target only', 'mapped', 'disable HPET'),
  o('acpitable', '[sig=str][,...][,file=file1[:file2]...]', 'i386 target only', 'unsupported', 'ACPI table description'),
  o('smbios', 'file=binary|type=0..4[,...]', 'i386 target only', 'unsupported', 'SMBIOS entries'),
  // Network
  o('nic', '[tap|user|socket|none...][,model=name][,mac=addr]', 'Network', 'mapped', 'create a NIC and its backend in one go'),
  o('netdev', 'user|tap|socket|stream|dgram|hubport,id=str[,...]', 'Network', 'mapped', 'configure a network backend (-netdev help)'),
  o('net', 'nic|user|tap|socket|dump|none[,...]', 'Network', 'mapped', 'legacy hub networking (old "vlan"); -net dump is legacy'),
  // Character
  o('chardev', 'backend,id=id[,...]', 'Character device', 'mapped', 'character backend: null, stdio, file, pipe, pty, vc, socket, udp, serial, tty, parallel, ringbuf'),
  // TPM
  o('tpmdev', 'backend,id=id', 'Debug/Expert', 'unsupported', 'TPM device backend'),
  // Boot
  o('kernel', 'bzImage', 'Boot Image or Kernel specific', 'mapped', "use 'bzImage' as kernel image"),
  o('append', 'cmdline', 'Boot Image or Kernel specific', 'mapped', "use 'cmdline' as kernel command line"),
  o('initrd', 'file', 'Boot Image or Kernel specific', 'mapped', "use 'file' as initial ram disk"),
  o('dtb', 'file', 'Boot Image or Kernel specific', 'unsupported', "use 'file' as device tree image"),
  // Debug/Expert
  o('compat', '[deprecated-input=...][,deprecated-output=...]', 'Debug/Expert', 'ignored', 'policy for deprecated management interfaces'),
  o('fw_cfg', '[name=]name,file=file|string=str', 'Debug/Expert', 'unsupported', 'add a named fw_cfg entry'),
  o('serial', 'dev', 'Debug/Expert', 'mapped', "redirect the serial port to char device 'dev'"),
  o('parallel', 'dev', 'Debug/Expert', 'mapped', "redirect the parallel port to char device 'dev'"),
  o('monitor', 'dev', 'Debug/Expert', 'mapped', "redirect the monitor to char device 'dev'"),
  o('qmp', 'dev', 'Debug/Expert', 'mapped', 'like -monitor but opens in QMP mode'),
  o('qmp-pretty', 'dev', 'Debug/Expert', 'mapped', 'like -qmp but uses pretty JSON formatting'),
  o('mon', '[chardev=]name[,mode=readline|control][,pretty=on|off]', 'Debug/Expert', 'mapped', 'attach a monitor to a chardev'),
  o('debugcon', 'dev', 'Debug/Expert', 'mapped', "redirect the debug console (port 0xe9) to char device 'dev'"),
  o('pidfile', 'file', 'Debug/Expert', 'mapped', 'write PID to file'),
  o('singlestep', null, 'Debug/Expert', 'ignored', 'always run in singlestep mode'),
  o('preconfig', null, 'Debug/Expert', 'unsupported', 'pause before machine init (QMP)'),
  o('S', null, 'Debug/Expert', 'mapped', 'freeze CPU at startup'),
  o('overcommit', '[mem-lock=on|off][,cpu-pm=on|off]', 'Debug/Expert', 'ignored', 'host memory/CPU overcommit hints'),
  o('gdb', 'dev', 'Debug/Expert', 'mapped', 'accept a gdb connection on device'),
  o('s', null, 'Debug/Expert', 'mapped', 'shorthand for -gdb tcp::1234'),
  o('d', 'item1,...', 'Debug/Expert', 'mapped', 'enable logging of specified items (-d help for a list)'),
  o('D', 'logfile', 'Debug/Expert', 'mapped', 'output log to logfile (default stderr)'),
  o('dfilter', 'range,..', 'Debug/Expert', 'unsupported', 'filter debug output to range of addresses'),
  o('seed', 'number', 'Debug/Expert', 'ignored', 'seed the pseudo-random number generator'),
  o('L', 'path', 'Debug/Expert', 'mapped', 'set the directory for the BIOS, VGA BIOS and keymaps (repeatable)'),
  o('bios', 'file', 'Debug/Expert', 'mapped', "set the filename for the BIOS"),
  o('enable-kvm', null, 'Debug/Expert', 'mapped', 'enable KVM full virtualization support (rejected: no KVM in qemu-ts)'),
  o('xen-domid', 'id', 'Debug/Expert', 'unsupported', 'Xen guest domain id'),
  o('xen-attach', null, 'Debug/Expert', 'unsupported', 'attach to existing xen domain'),
  o('xen-domid-restrict', null, 'Debug/Expert', 'unsupported', 'restrict set of available xen operations'),
  o('async-teardown', null, 'Debug/Expert', 'ignored', 'enable asynchronous teardown (host-side only)'),
  o('no-reboot', null, 'Debug/Expert', 'mapped', 'exit instead of rebooting'),
  o('no-shutdown', null, 'Debug/Expert', 'mapped', 'stop before shutdown'),
  o('action', 'reboot=reset|shutdown,shutdown=poweroff|pause,panic=...,watchdog=...', 'Debug/Expert', 'mapped', 'actions for guest events'),
  o('loadvm', 'tag|id', 'Debug/Expert', 'mapped', 'start right away with a saved state (loadvm in monitor)'),
  o('daemonize', null, 'Debug/Expert', 'mapped', 'daemonize QEMU after initializing'),
  o('option-rom', 'rom[,bootindex=n][,romfile=f]', 'Debug/Expert', 'mapped', 'load a file, rom, into the option ROM space'),
  o('rtc', '[base=utc|localtime|date][,clock=host|rt|vm][,driftfix=none|slew]', 'Debug/Expert', 'mapped', 'set the RTC base and clock'),
  o('icount', '[shift=N|auto][,align=on|off][,sleep=on|off][,rr=record|replay,rrfile=filename]', 'Debug/Expert', 'mapped', 'instruction counting'),
  o('watchdog', 'model', 'Debug/Expert', 'unsupported', 'enable virtual hardware watchdog'),
  o('watchdog-action', 'reset|shutdown|poweroff|inject-nmi|pause|debug|none', 'Debug/Expert', 'unsupported', 'action when watchdog fires'),
  o('echr', 'chr', 'Debug/Expert', 'mapped', 'set terminal escape character instead of ctrl-a'),
  o('incoming', 'uri', 'Debug/Expert', 'unsupported', 'accept incoming migration'),
  o('only-migratable', null, 'Debug/Expert', 'ignored', 'allow only migratable devices'),
  o('nodefaults', null, 'Debug/Expert', 'mapped', "don't create default devices"),
  o('chroot', 'dir', 'Debug/Expert', 'unsupported', 'chroot to dir just before starting the VM'),
  o('runas', 'user', 'Debug/Expert', 'unsupported', 'change to user id user just before starting the VM'),
  o('prom-env', 'variable=value', 'Debug/Expert', 'unsupported', 'OpenBIOS variables (not x86)'),
  o('semihosting', null, 'Debug/Expert', 'unsupported', 'semihosting mode (not x86)'),
  o('semihosting-config', '...', 'Debug/Expert', 'unsupported', 'semihosting configuration (not x86)'),
  o('sandbox', 'on|off[,...]', 'Debug/Expert', 'ignored', 'seccomp sandbox'),
  o('readconfig', 'file', 'Debug/Expert', 'mapped', 'read config file (INI-style [drive]/[device]/[netdev]... sections)'),
  o('writeconfig', 'file', 'Debug/Expert', 'legacy', 'write the configuration (removed in QEMU 6.0; qemu-ts writes the parsed groups)'),
  o('no-user-config', null, 'Debug/Expert', 'mapped', 'do not load default user-provided config files at startup'),
  o('nodefconfig', null, 'Legacy (removed from QEMU)', 'legacy', 'old name of -no-user-config'),
  o('trace', '[[enable=]pattern][,events=file][,file=file]', 'Debug/Expert', 'ignored', 'trace events (qemu-ts has none)'),
  o('plugin', 'file=lib.so[,arg=...]', 'Debug/Expert', 'unsupported', 'TCG plugin'),
  o('msg', '[timestamp=on|off][,guest-name=on|off]', 'Debug/Expert', 'ignored', 'control error message format'),
  o('dump-vmstate', 'file', 'Debug/Expert', 'unsupported', 'dump vmstate description as JSON'),
  o('enable-sync-profile', null, 'Debug/Expert', 'ignored', 'enable synchronization profiling'),
  o('object', 'typename[,prop1=value1,...]', 'Debug/Expert', 'unsupported', 'create a QOM object (memory-backend, secret, filter-dump...)'),
  o('qtest', 'dev', 'Debug/Expert', 'unsupported', 'qtest protocol'),
  // qemu-ts
  o('dump-machine', null, 'qemu-ts', 'mapped', 'validate the command line, print the machine description as JSON and exit'),
  // Legacy
  o('localtime', null, 'Legacy (removed from QEMU)', 'legacy', 'same as -rtc base=localtime'),
  o('std-vga', null, 'Legacy (removed from QEMU)', 'legacy', 'same as -vga std'),
  o('cirrusvga', null, 'Legacy (removed from QEMU)', 'legacy', 'same as -vga cirrus'),
  o('vmwarevga', null, 'Legacy (removed from QEMU)', 'unsupported', 'same as -vga vmware (no VMware SVGA in qemu-ts)'),
  o('soundhw', 'c1,...|all', 'Legacy (removed from QEMU)', 'legacy', 'sound cards (sb16, adlib; recorded, no audio backend yet)'),
  o('kernel-kqemu', null, 'Legacy (removed from QEMU)', 'legacy', 'kqemu accelerator (ignored)'),
  o('enable-kqemu', null, 'Legacy (removed from QEMU)', 'legacy', 'kqemu accelerator (ignored)'),
  o('no-kqemu', null, 'Legacy (removed from QEMU)', 'legacy', 'disable kqemu (ignored)'),
  o('no-kvm', null, 'Legacy (removed from QEMU)', 'legacy', 'disable KVM (qemu-ts never uses it)'),
  o('no-kvm-irqchip', null, 'Legacy (removed from QEMU)', 'legacy', 'ignored'),
  o('no-kvm-pit', null, 'Legacy (removed from QEMU)', 'legacy', 'ignored'),
  o('tdf', null, 'Legacy (removed from QEMU)', 'legacy', 'time drift fix: same as -rtc driftfix=slew'),
  o('rtc-td-hack', null, 'Legacy (removed from QEMU)', 'legacy', 'same as -rtc driftfix=slew'),
  o('no-frame', null, 'Legacy (removed from QEMU)', 'legacy', 'ignored'),
  o('show-cursor', null, 'Legacy (removed from QEMU)', 'legacy', 'ignored'),
  o('tb-size', 'n', 'Legacy (removed from QEMU)', 'legacy', 'same as -accel tcg,tb-size=n (ignored)'),
  o('hdachs', 'c,h,s[,t]', 'Legacy (removed from QEMU)', 'legacy', 'force hard disk 0 geometry (mapped to cyls/heads/secs of hda)'),
  o('clock', 'method', 'Legacy (removed from QEMU)', 'legacy', 'ignored'),
  o('balloon', 'none|virtio', 'Legacy (removed from QEMU)', 'unsupported', 'virtio balloon'),
  o('realtime', 'mlock=on|off', 'Legacy (removed from QEMU)', 'legacy', 'ignored'),
  o('enable-nesting', null, 'Legacy (removed from QEMU)', 'legacy', 'ignored'),
  o('pcidevice', 'host=bus:dev.func', 'Legacy (removed from QEMU)', 'unsupported', 'PCI pass-through'),
];

const BY_NAME = new Map(OPTIONS.map((d) => [d.name, d]));

export function findOption(name: string): OptionDef | undefined {
  return BY_NAME.get(name);
}

/** `-help` text, grouped by section, generated from the table. */
export function helpText(program: string, versionLine: string): string {
  const out = [versionLine, `usage: ${program} [options] [disk_image]`, '', "'disk_image' is a raw hard disk image for IDE hard disk 0", ''];
  const sections = [...new Set(OPTIONS.map((d) => d.section))];
  for (const s of sections) {
    const list = OPTIONS.filter((d) => d.section === s && d.status !== 'unsupported');
    if (list.length === 0) continue;
    out.push(`${s} options:`);
    for (const d of list) {
      const head = `-${d.name}${d.arg ? ' ' + d.arg : ''}`;
      out.push(head.length < 24 ? `${head.padEnd(24)}${d.help}` : `${head}\n${' '.repeat(24)}${d.help}`);
    }
    out.push('');
  }
  out.push('During emulation, the following keys are useful:',
    'ctrl-alt-f      toggle full screen', 'ctrl-alt-n      switch to virtual console \'n\'', 'ctrl-alt        toggle mouse and keyboard grab', '',
    'When using -nographic, press \'ctrl-a h\' to get some help.', '',
    'Options marked unsupported in docs/cli.md are rejected with a message naming the flag.');
  return out.join('\n') + '\n';
}
