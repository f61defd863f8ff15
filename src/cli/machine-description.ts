/**
 * The machine description: everything the command line says about the machine, with QEMU's
 * defaults applied, as plain JSON-serialisable data. The emulation core builds the machine from
 * this alone. Schema documented in docs/machine-description.md.
 */

export type MachineKind = 'pc' | 'isapc';
export type DriveInterface = 'ide' | 'floppy' | 'none' | 'virtio' | 'scsi' | 'sd' | 'mtd' | 'pflash';
export type DriveMedia = 'disk' | 'cdrom';
export type CacheMode = 'writeback' | 'writethrough' | 'none' | 'directsync' | 'unsafe';
export type ErrorAction = 'report' | 'ignore' | 'stop' | 'enospc';

export interface MachineDescription {
  /** Bumped when the shape changes incompatibly. */
  schemaVersion: 1;
  machine: MachineInfo;
  cpu: CpuInfo;
  smp: SmpInfo;
  memory: MemoryInfo;
  boot: BootInfo;
  firmware: FirmwareInfo;
  drives: DriveInfo[];
  /** All NICs: from -net nic, -nic, -device <nic model>, and the default NIC. */
  nics: NicInfo[];
  /** Network backends: from -netdev, -nic, -net user/tap/socket/..., and the default user net. */
  netdevs: NetdevInfo[];
  /** Packet dump filters from the legacy `-net dump`. */
  netDumps: NetDumpInfo[];
  /** Character backends, explicit (-chardev) and implied (-serial stdio → id "serial0"). */
  chardevs: ChardevInfo[];
  /** ISA serial ports COM1..COM4 in order. */
  serial: PortInfo[];
  /** ISA parallel ports LPT1..LPT3 in order. */
  parallel: PortInfo[];
  /** Human monitors (readline). */
  monitor: MonitorInfo[];
  /** QMP monitors (control). */
  qmp: MonitorInfo[];
  /** Every -device, plus devices implied by legacy options (-debugcon → isa-debugcon, -vga → VGA...). */
  devices: DeviceInfo[];
  vga: VgaInfo;
  display: DisplayInfo;
  kernel: string | null;
  initrd: string | null;
  append: string | null;
  rtc: RtcInfo;
  name: string | null;
  uuid: string | null;
  pidfile: string | null;
  gdb: string | null;
  loadvm: string | null;
  icount: Record<string, string> | null;
  keyboardLayout: string | null;
  usb: { enabled: boolean; devices: string[] };
  audio: { soundhw: string[] };
  globals: GlobalProp[];
  logging: { items: string[]; file: string | null };
  flags: Flags;
  /** Non-fatal notes printed on stderr while parsing (deprecations, probing). */
  warnings: string[];
}

export interface MachineInfo {
  /** The machine family the core builds. */
  type: MachineKind;
  /** The versioned name, e.g. "pc-i440fx-7.2" (for `pc`) or "isapc". */
  versionedType: string;
  /** Name as given on the command line (after alias resolution, e.g. "pc"). */
  requested: string;
  accel: 'tcg';
  acpi: boolean;
  hpet: boolean;
  /** PCI present (pc) or not (isapc). */
  pci: boolean;
  /** IDE controller: PIIX3 on PCI (pc) or two ISA IDE channels at 0x1f0/IRQ 14 and 0x170/IRQ 15 (isapc). */
  ideController: 'piix3-ide' | 'isa-ide';
  /** Other -machine properties, raw. */
  props: Record<string, string>;
}

export interface CpuInfo {
  /** Canonical model name, e.g. "qemu64", "486". */
  model: string;
  /** Explicit feature changes (+f/-f/f=on/off), last wins; names canonical (sse3 → pni). */
  features: Record<string, boolean>;
  /** Non-boolean properties (family=, model=, stepping=, vendor=, model-id=...). */
  props: Record<string, string>;
  /** 64-bit capable model (has lm). */
  longMode: boolean;
}

export interface SmpInfo {
  cpus: number;
  maxcpus: number;
  sockets: number;
  dies: number;
  cores: number;
  threads: number;
}

export interface MemoryInfo {
  sizeBytes: number;
  maxBytes: number;
  slots: number;
}

export interface BootInfo {
  /** Device letters a..p (a,b floppy; c disk; d cdrom; n-p network), in order. */
  order: string;
  /** Order used for the first boot only (then `order`), or null. */
  once: string | null;
  menu: boolean | null;
  splash: string | null;
  splashTimeMs: number | null;
  rebootTimeoutMs: number;
  strict: boolean;
}

export interface FirmwareInfo {
  /** Directories searched for firmware files, in order (cwd entry is "."). */
  searchPath: string[];
  /** BIOS file name (as given or the machine default). */
  bios: string;
  /** Absolute path found for it (filled by validateMachine; null before). */
  biosPath: string | null;
  /** VGA option ROM name for the chosen VGA, or null (none / no ROM). */
  vgaBios: string | null;
  vgaBiosPath: string | null;
  /** Extra option ROMs (-option-rom). */
  optionRoms: { file: string; path: string | null; bootindex: number | null; romfile: string | null }[];
}

export interface DriveInfo {
  id: string;
  /** Image file name, or null for an empty drive (e.g. the default CD-ROM). */
  file: string | null;
  /** Format: explicit, or probed by validateMachine ("raw", "qcow2"...); null while unknown. */
  format: string | null;
  /** True when the format was guessed by probing (QEMU's raw warning applies). */
  formatProbed: boolean;
  interface: DriveInterface;
  /** Bus and unit on the interface (IDE: bus 0..1 / unit 0..1; floppy: bus 0 / unit 0..1). */
  bus: number;
  unit: number;
  /** Index as given (-1 when not given). */
  index: number;
  media: DriveMedia;
  readonly: boolean;
  snapshot: boolean;
  cache: CacheMode;
  werror: ErrorAction;
  rerror: ErrorAction;
  /** The frontend device: "ide-hd", "ide-cd", "floppy", "virtio-blk-pci", "scsi-hd", or null (if=none unused). */
  device: string | null;
  /** For a drive attached with -device: that device's id and properties (serial, model, bootindex, cyls...). */
  deviceId: string | null;
  deviceProps: Record<string, string>;
  /** Where it came from, e.g. "-hda", "-drive", "default", "-device" (an empty ide-cd/floppy). */
  source: string;
  /** The option as typed ("-hda xp.img"), for messages. */
  origin: string;
  /** Other options (aio, discard, file.*, ...), raw. */
  extra: Record<string, string>;
  /** Size of the file in bytes (filled by validateMachine; null before or when empty). */
  sizeBytes: number | null;
}

export interface NicInfo {
  model: string;
  mac: string;
  /** Netdev id this NIC is connected to, or null when on a legacy hub. */
  netdev: string | null;
  /** Legacy hub (the old "vlan") number, or null. */
  hub: number | null;
  id: string | null;
  /** ISA resources for ne2k_isa. */
  iobase: number | null;
  irq: number | null;
  /** PXE option ROM file name (pc), or null. */
  romfile: string | null;
  source: string;
  props: Record<string, string>;
}

export type NetdevType = 'user' | 'tap' | 'socket' | 'stream' | 'dgram' | 'hubport' | 'bridge' | 'l2tpv3' | 'vde';

export interface NetdevInfo {
  id: string;
  type: NetdevType;
  /** Legacy hub (for -net user etc.), or null for -netdev. */
  hub: number | null;
  /** Parsed user-net forwards (hostfwd=...). */
  hostfwd: HostFwd[];
  /** All other options, raw (restrict, net, dhcpstart, dns, ifname, script, ...). */
  options: Record<string, string>;
}

export interface HostFwd {
  protocol: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: number;
  guestAddr: string;
  guestPort: number;
}

export interface NetDumpInfo {
  hub: number;
  file: string;
  maxLen: number;
}

export type ChardevBackend =
  | 'null' | 'stdio' | 'file' | 'pipe' | 'pty' | 'vc' | 'socket' | 'udp' | 'serial' | 'tty'
  | 'parallel' | 'parport' | 'mux' | 'msmouse' | 'braille' | 'ringbuf' | 'memory' | 'console';

export interface ChardevInfo {
  id: string;
  backend: ChardevBackend;
  /** Multiplexed with a monitor (mux=on / "mon:"). */
  mux: boolean;
  /** Backend options: path, host, port, server, wait, telnet, signal, ... raw. */
  options: Record<string, string>;
}

export interface PortInfo {
  /** Chardev id it is connected to. */
  chardev: string;
  index: number;
  iobase: number;
  irq: number;
}

export interface MonitorInfo {
  chardev: string;
  mode: 'readline' | 'control';
  pretty: boolean;
}

export interface DeviceInfo {
  driver: string;
  id: string | null;
  bus: string | null;
  /** Properties as given (strings), minus driver/id/bus. */
  props: Record<string, string>;
  /** For ISA devices with I/O ports: resolved iobase/iosize/irq (defaults applied). */
  iobase: number | null;
  iosize: number | null;
  irq: number | null;
  chardev: string | null;
  drive: string | null;
  netdev: string | null;
  source: string;
}

export interface VgaInfo {
  /** -vga value: std, cirrus, none, vmware, qxl, virtio... */
  type: string;
  /** The device realising it: "VGA", "cirrus-vga", "isa-vga", "isa-cirrus-vga", or null. */
  device: string | null;
}

export interface DisplayInfo {
  /** 'default': no display option given — QEMU opens a window (GTK/SDL) when it can; the core decides. */
  type: 'default' | 'none' | 'sdl' | 'gtk' | 'curses' | 'vnc' | 'egl-headless' | 'dbus' | 'spice-app';
  /** VNC server when -vnc/-display vnc= given: address as given ("127.0.0.1:0", ":1"), options. */
  vnc: { display: string; options: Record<string, string> } | null;
  nographic: boolean;
  fullScreen: boolean;
  options: Record<string, string>;
}

export interface RtcInfo {
  /** "utc", "localtime", or an ISO date/time string. */
  base: string;
  clock: 'host' | 'rt' | 'vm';
  driftfix: 'none' | 'slew';
}

export interface GlobalProp {
  driver: string;
  property: string;
  value: string;
}

export interface Flags {
  /** -S */
  startPaused: boolean;
  noReboot: boolean;
  noShutdown: boolean;
  snapshot: boolean;
  daemonize: boolean;
  nodefaults: boolean;
  noUserConfig: boolean;
  /** -no-fd-bootchk: boot floppies without the 0x55AA signature. */
  noFdBootchk: boolean;
  /** -win2k-hack (accepted, no effect in QEMU since 2.x). */
  win2kHack: boolean;
}
