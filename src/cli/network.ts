/**
 * Networking: -netdev, -net (legacy hubs, the old "vlan"), -nic, and the default NIC, into
 * NICs and backends with QEMU 7.2's rules: default model per machine, default MACs
 * 52:54:00:12:34:56 counting up per NIC without one, ne2k_isa resources, generated backend
 * names ("user.0", "__org.qemu.nic0"), and QEMU's peer warnings.
 */
import { findDevice, QEMU_ONLY_DEVICES } from './device-models.js';
import { CliError, HelpRequest, withOption } from './errors.js';
import type { MachineDescription, NetdevInfo, NicInfo } from './machine-description.js';
import type { MachineType } from './machines.js';
import { formatMac, netdevFromOpts, parseMac } from './net.js';
import { parseInt64, parseSize, parseUint, type QemuOpts } from './qemu-opts.js';

export interface PendingNet {
  kind: 'net' | 'nic' | 'netdev';
  opts: QemuOpts;
  where: string;
}

const NE2K_IO = [0x300, 0x320, 0x340, 0x360, 0x280, 0x380];
const NE2K_IRQ = [9, 10, 11, 3, 4, 5];

export class NetworkBuilder {
  readonly nics: NicInfo[] = [];
  readonly netdevs: NetdevInfo[] = [];
  readonly netDumps: MachineDescription['netDumps'] = [];
  private macIndex = 0;
  private ne2kIndex = 0;
  private readonly pci: boolean;

  constructor(private readonly mt: MachineType) {
    this.pci = mt.kind === 'pc';
  }

  private nicRom(model: string): string | null {
    if (!this.pci || model === 'ne2k_isa') return null;
    return `efi-${model}.rom`;
  }

  /** Add a NIC; `macText` undefined takes the next default MAC. */
  addNic(model: string, macText: string | undefined, netdev: string | null, hub: number | null, id: string | null, source: string, props: Record<string, string>, where: string): void {
    let mac: string;
    if (macText !== undefined) {
      const b = parseMac(macText);
      if (!b) throw new CliError('invalid syntax for ethernet address', where);
      mac = formatMac(b);
    } else mac = formatMac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + this.macIndex++]);
    let iobase: number | null = null;
    let irq: number | null = null;
    if (model === 'ne2k_isa') {
      const pio = props.iobase !== undefined ? parseUint(props.iobase) : null;
      const pirq = props.irq !== undefined ? parseUint(props.irq) : null;
      iobase = pio ?? NE2K_IO[this.ne2kIndex] ?? 0x300;
      irq = pirq ?? NE2K_IRQ[this.ne2kIndex] ?? 9;
      this.ne2kIndex++;
    }
    this.nics.push({ model, mac, netdev, hub, id, iobase, irq, romfile: props.romfile ?? this.nicRom(model), source, props });
  }

  private checkNicModel(model: string, where: string): string {
    const pci = this.pci;
    const d = findDevice(model);
    if (model === 'help' || model === '?') {
      throw new HelpRequest('Supported NIC models:\n' + ['e1000', 'ne2k_isa', 'ne2k_pci', 'rtl8139'].filter((m) => pci || m === 'ne2k_isa').join('\n') + '\n');
    }
    if (!d || d.category !== 'Network') {
      if (QEMU_ONLY_DEVICES.includes(model)) throw new CliError(`NIC model '${model}' is not supported by qemu-ts yet`, where);
      throw CliError.bare(`Unsupported NIC model: ${model}`);
    }
    if (d.bus === 'PCI' && !pci) throw new CliError(`No 'PCI' bus found for device '${d.name}'`, where);
    return d.name;
  }

  /** Process -netdev/-net/-nic in command-line order, then the default network. */
  apply(nets: readonly PendingNet[], nodefaults: boolean): void {
    const mt = this.mt;
    const netdevs = this.netdevs;
    const netDumps = this.netDumps;
    const addNic = this.addNic.bind(this);
    const checkNicModel = this.checkNicModel.bind(this);
    const nd = nodefaults;
    let defaultNet = !nd;
    const typeCount: Record<string, number> = {};
    const autoName = (type: string) => {
      const n = typeCount[type] ?? 0;
      typeCount[type] = n + 1;
      return `${type}.${n}`;
    };
    let nicCount = 0;
    for (const n of nets) {
      withOption(n.where, () => {
        const o = n.opts;
        const type = o.get('type') ?? '';
        if (n.kind === 'netdev') {
          defaultNet = false;
          const id = o.get('id');
          if (!id) throw new CliError("Parameter 'id' is missing");
          if (netdevs.some((x) => x.id === id)) throw new CliError(`Duplicate ID '${id}' for netdev`);
          netdevs.push(netdevFromOpts(o, id));
          return;
        }
        if (n.kind === 'nic') {
          defaultNet = false;
          if (type === 'none') return;
          if (type === '') {
            o.entries = o.entries.filter((e) => e.key !== 'type');
            o.entries.unshift({ key: 'type', value: 'user' });
          }
          const model = checkNicModel(o.get('model') ?? mt.defaultNic, n.where);
          const id = `__org.qemu.nic${nicCount++}`;
          netdevs.push(netdevFromOpts(o, id, ['model', 'mac']));
          addNic(model, o.get('mac'), id, null, null, '-nic', {}, n.where);
          return;
        }
        // -net
        if (type === 'none') {
          defaultNet = false;
          return;
        }
        defaultNet = false;
        const vlan = o.get('vlan');
        const hub = vlan === undefined ? 0 : parseInt64(vlan, 'vlan');
        if (type === 'nic') {
          o.check(['type', 'netdev', 'macaddr', 'model', 'name', 'addr', 'vectors', 'vlan', 'id']);
          const model = checkNicModel(o.get('model') ?? mt.defaultNic, n.where);
          const nd2 = o.get('netdev') ?? null;
          if (nd2 !== null && !nets.some((x) => x.kind === 'netdev' && x.opts.get('id') === nd2)) {
            throw new CliError(`Property 'nic.netdev' can't find value '${nd2}'`);
          }
          addNic(model, o.get('macaddr'), nd2, nd2 === null ? hub : null, o.get('name') ?? null, '-net nic', o.has('addr') ? { addr: o.get('addr')! } : {}, n.where);
          return;
        }
        if (type === 'dump') {
          o.check(['type', 'file', 'len', 'vlan', 'name', 'id']);
          const len = o.get('len');
          netDumps.push({ hub, file: o.get('file') ?? `qemu-vlan${hub}.pcap`, maxLen: len === undefined ? 65536 : parseSize(len, 'len') });
          return;
        }
        const name = o.get('name') ?? o.get('id') ?? autoName(type);
        const info = netdevFromOpts(o, name, ['vlan', 'name']);
        info.hub = hub;
        netdevs.push(info);
      });
    }
    if (defaultNet) {
      addNic(mt.defaultNic, undefined, null, 0, null, 'default', {}, 'default');
      netdevs.push({ id: 'user.0', type: 'user', hub: 0, hostfwd: [], options: {} });
    }
  }

  /** QEMU's warnings for backends without a NIC and hubs without one side. */
  peerWarnings(warn: (m: string) => void): void {
    const { nics, netdevs } = this;
    for (const n of netdevs) {
      if (n.hub === null && !nics.some((c) => c.netdev === n.id)) warn(`warning: netdev ${n.id} has no peer`);
    }
    const hubs = new Set<number>([...nics.map((c) => c.hub), ...netdevs.map((n) => n.hub)].filter((h): h is number => h !== null));
    for (const h of [...hubs].sort((a, b) => a - b)) {
      const hasNic = nics.some((c) => c.hub === h);
      const hasHost = netdevs.some((n) => n.hub === h);
      if (hasNic && !hasHost) warn(`warning: hub ${h} is not connected to host network`);
      if (!hasNic && hasHost) warn(`warning: hub ${h} with no nics`);
    }
  }
}
