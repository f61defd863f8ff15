/**
 * -device models qemu-ts has (or will have), with their properties and defaults as QEMU 7.2
 * defines them (`qemu-system-x86_64 -device NAME,help`).
 */
export type PropType = 'uint' | 'int' | 'str' | 'bool' | 'chardev' | 'drive' | 'netdev' | 'mac' | 'pciaddr' | 'onoffauto';

export interface DeviceModel {
  name: string;
  bus: 'PCI' | 'ISA' | 'IDE' | 'floppy-bus' | 'usb-bus';
  category: 'Storage' | 'Network' | 'Input' | 'Display' | 'Sound' | 'Misc';
  desc: string | null;
  alias?: string;
  props: Record<string, PropType>;
  /** Default property values (numbers for ISA resources). */
  defaults?: Record<string, number>;
}

const PCI: Record<string, PropType> = { addr: 'pciaddr', romfile: 'str', rombar: 'uint', multifunction: 'bool', 'x-pcie-lnksta-dllla': 'bool' };
const NIC: Record<string, PropType> = { mac: 'mac', netdev: 'netdev', bootindex: 'int' };
const IDE_DEV: Record<string, PropType> = {
  drive: 'drive', unit: 'uint', bootindex: 'int', serial: 'str', model: 'str', ver: 'str', wwn: 'uint',
  logical_block_size: 'uint', physical_block_size: 'uint', min_io_size: 'uint', opt_io_size: 'uint',
  discard_granularity: 'uint', 'write-cache': 'onoffauto', 'share-rw': 'bool',
};

export const DEVICE_MODELS: readonly DeviceModel[] = [
  { name: 'floppy', bus: 'floppy-bus', category: 'Storage', desc: 'virtual floppy drive',
    props: { drive: 'drive', unit: 'uint', bootindex: 'int', 'drive-type': 'str', 'share-rw': 'bool' } },
  { name: 'ide-cd', bus: 'IDE', category: 'Storage', desc: 'virtual IDE CD-ROM', props: { ...IDE_DEV } },
  { name: 'ide-hd', bus: 'IDE', category: 'Storage', desc: 'virtual IDE disk',
    props: { ...IDE_DEV, cyls: 'uint', heads: 'uint', secs: 'uint', lcyls: 'uint', lheads: 'uint', lsecs: 'uint', 'bios-chs-trans': 'str', rotation_rate: 'uint' } },
  { name: 'isa-fdc', bus: 'ISA', category: 'Storage', desc: 'virtual floppy controller',
    props: { iobase: 'uint', irq: 'uint', dma: 'uint', driveA: 'drive', driveB: 'drive', fdtypeA: 'str', fdtypeB: 'str', fallback: 'str', bootindexA: 'int', bootindexB: 'int' },
    defaults: { iobase: 0x3f0, irq: 6 } },
  { name: 'isa-ide', bus: 'ISA', category: 'Storage', desc: null, props: { iobase: 'uint', iobase2: 'uint', irq: 'uint' }, defaults: { iobase: 0x1f0, irq: 14 } },
  { name: 'piix3-ide', bus: 'PCI', category: 'Storage', desc: null, props: { ...PCI } },
  { name: 'e1000', bus: 'PCI', category: 'Network', desc: 'Intel Gigabit Ethernet', alias: 'e1000-82540em', props: { ...PCI, ...NIC, autonegotiation: 'bool', mitigation: 'bool' } },
  { name: 'ne2k_isa', bus: 'ISA', category: 'Network', desc: null, props: { ...NIC, iobase: 'uint', irq: 'uint' }, defaults: { iobase: 0x300, irq: 9 } },
  { name: 'ne2k_pci', bus: 'PCI', category: 'Network', desc: null, props: { ...PCI, ...NIC } },
  { name: 'rtl8139', bus: 'PCI', category: 'Network', desc: null, props: { ...PCI, ...NIC } },
  { name: 'isa-parallel', bus: 'ISA', category: 'Input', desc: null, props: { index: 'uint', iobase: 'uint', irq: 'uint', chardev: 'chardev' } },
  { name: 'isa-serial', bus: 'ISA', category: 'Input', desc: null, props: { index: 'uint', iobase: 'uint', irq: 'uint', chardev: 'chardev', wakeup: 'uint' } },
  { name: 'cirrus-vga', bus: 'PCI', category: 'Display', desc: 'Cirrus CLGD 54xx VGA', props: { ...PCI, vgamem_mb: 'uint', blitter: 'bool', 'global-vmstate': 'bool' } },
  { name: 'isa-cirrus-vga', bus: 'ISA', category: 'Display', desc: null, props: { vgamem_mb: 'uint', blitter: 'bool' } },
  { name: 'isa-vga', bus: 'ISA', category: 'Display', desc: null, props: { vgamem_mb: 'uint' } },
  { name: 'VGA', bus: 'PCI', category: 'Display', desc: null,
    props: { ...PCI, vgamem_mb: 'uint', mmio: 'bool', 'qemu-extended-regs': 'bool', edid: 'bool', xres: 'uint', yres: 'uint', xmax: 'uint', ymax: 'uint', refresh_rate: 'uint', 'global-vmstate': 'bool' } },
  { name: 'adlib', bus: 'ISA', category: 'Sound', desc: 'Yamaha YM3812 (OPL2)', props: { iobase: 'uint', freq: 'uint', audiodev: 'str' }, defaults: { iobase: 0x220 } },
  { name: 'sb16', bus: 'ISA', category: 'Sound', desc: 'Creative Sound Blaster 16', props: { iobase: 'uint', irq: 'uint', dma: 'uint', dma16: 'uint', version: 'uint', audiodev: 'str' }, defaults: { iobase: 0x220, irq: 5 } },
  { name: 'isa-debug-exit', bus: 'ISA', category: 'Misc', desc: null, props: { iobase: 'uint', iosize: 'uint' }, defaults: { iobase: 0x501, iosize: 2 } },
  { name: 'isa-debugcon', bus: 'ISA', category: 'Misc', desc: null, props: { iobase: 'uint', chardev: 'chardev', readback: 'uint' }, defaults: { iobase: 0xe9, iosize: 1 } },
];

/** Device names real QEMU has that qemu-ts does not (a clear "not yet" instead of "invalid"). */
export const QEMU_ONLY_DEVICES: readonly string[] = [
  'virtio-net-pci', 'virtio-net', 'virtio-blk-pci', 'virtio-blk', 'virtio-scsi-pci', 'virtio-vga', 'virtio-gpu-pci',
  'virtio-serial-pci', 'virtio-balloon-pci', 'virtio-balloon', 'virtio-rng-pci', 'virtio-keyboard-pci', 'virtio-mouse-pci',
  'virtio-tablet-pci', 'e1000e', 'e1000-82544gc', 'e1000-82545em', 'pcnet', 'i82551', 'i82557b', 'i82559er', 'vmxnet3',
  'usb-tablet', 'usb-mouse', 'usb-kbd', 'usb-storage', 'usb-ehci', 'ich9-usb-ehci1', 'piix3-usb-uhci', 'piix4-usb-uhci',
  'qemu-xhci', 'nec-usb-xhci', 'usb-host', 'usb-hub', 'qxl', 'qxl-vga', 'vmware-svga', 'bochs-display', 'ramfb', 'secondary-vga',
  'ahci', 'ich9-ahci', 'lsi53c895a', 'megasas', 'scsi-hd', 'scsi-cd', 'nvme', 'intel-hda', 'hda-duplex', 'hda-output',
  'ac97', 'ES1370', 'cs4231a', 'gus', 'pcspk', 'i6300esb', 'ib700', 'pvpanic', 'isa-applesmc', 'vfio-pci', 'ivshmem-plain',
  'pci-bridge', 'ipmi-bmc-sim', 'isa-ipmi-kcs', 'tpm-tis', 'piix4-ide', 'nvdimm', 'pc-dimm', 'qemu64-x86_64-cpu',
];

export function findDevice(name: string): DeviceModel | undefined {
  return DEVICE_MODELS.find((d) => d.name === name || d.alias === name);
}

const CATEGORY_ORDER = ['Storage', 'Network', 'Input', 'Display', 'Sound', 'Misc'] as const;

/** `-device help` in QEMU's layout (only our models). */
export function deviceHelp(): string {
  const out: string[] = [];
  for (const cat of CATEGORY_ORDER) {
    const list = DEVICE_MODELS.filter((d) => d.category === cat).sort((a, b) => a.name.localeCompare(b.name));
    if (list.length === 0) continue;
    if (out.length) out.push('');
    out.push(`${cat} devices:`);
    for (const d of list) {
      let line = `name "${d.name}", bus ${d.bus}`;
      if (d.alias) line += `, alias "${d.alias}"`;
      if (d.desc) line += `, desc "${d.desc}"`;
      out.push(line);
    }
  }
  return out.join('\n') + '\n';
}

/** `-device NAME,help`: the properties. */
export function devicePropsHelp(d: DeviceModel): string {
  const typeName: Record<PropType, string> = {
    uint: 'uint32', int: 'int32', str: 'str', bool: 'bool', chardev: 'str', drive: 'str', netdev: 'str', mac: 'str', pciaddr: 'int32', onoffauto: 'OnOffAuto',
  };
  const lines = [`${d.name} options:`];
  for (const [k, t] of Object.entries(d.props).sort(([a], [b]) => a.localeCompare(b))) {
    const dflt = d.defaults?.[k];
    lines.push(`  ${`${k}=<${typeName[t]}>`.padEnd(22)} - ${dflt !== undefined ? ` (default: ${dflt})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** NIC models for `-net nic,model=` (the subset of DEVICE_MODELS in the Network category). */
export function nicModels(pci: boolean): string[] {
  return DEVICE_MODELS.filter((d) => d.category === 'Network' && (pci || d.bus === 'ISA')).map((d) => d.name).sort();
}
