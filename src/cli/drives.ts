/**
 * Drives: -drive/-hda../-cdrom/-fda options to bus/unit slots with QEMU 7.2's rules (index
 * mapping, first free slot, conflicts, machine limits, generated ids, default CD-ROM and floppy),
 * and attaching if=none drives to -device ide-hd/ide-cd/floppy.
 */
import type { DeviceModel } from './device-models.js';
import { CliError, HelpRequest, withOption } from './errors.js';
import type { CacheMode, DriveInfo, DriveInterface, DriveMedia, ErrorAction } from './machine-description.js';
import type { MachineType } from './machines.js';
import { parseUint, type QemuOpts } from './qemu-opts.js';

export interface PendingDrive {
  opts: QemuOpts;
  where: string;
  source: string;
}

export interface DriveDefaults {
  snapshotAll: boolean;
  nodefaults: boolean;
  /** -hdachs c,h,s[,t] for hda. */
  hdachs: string | null;
}

const DRIVE_KEYS = [
  'file', 'if', 'bus', 'unit', 'index', 'media', 'format', 'snapshot', 'cache', 'readonly', 'id', 'werror', 'rerror',
  'aio', 'discard', 'detect-zeroes', 'copy-on-read', 'serial', 'addr', 'node-name', 'auto-read-only', 'force-share',
  'driver', 'cache.direct', 'cache.no-flush', 'cyls', 'heads', 'secs', 'trans', 'boot',
];
export const FORMATS = ['raw', 'qcow2', 'qcow', 'vmdk', 'vdi', 'vpc', 'vhdx', 'qed', 'parallels', 'dmg', 'bochs', 'cloop', 'luks', 'vvfat'];

export function resolveDrives(pending: readonly PendingDrive[], mt: MachineType, opt: DriveDefaults): DriveInfo[] {
  const out: DriveInfo[] = [];
  const taken = new Map<string, DriveInfo>();
  const ids = new Set<string>();
  const all = [...pending];
  const nd = opt.nodefaults;
  const slotKey = (i: string, b: number, u: number) => `${i}:${b}:${u}`;
  for (const pd of all) {
    withOption(pd.where, () => {
      const o = pd.opts;
      for (const e of o.entries) {
        if (!DRIVE_KEYS.includes(e.key) && !e.key.startsWith('file.') && !e.key.startsWith('throttling.')) {
          const fmt = o.get('format');
          throw new CliError(fmt ? `Block format '${fmt}' does not support the option '${e.key}'` : `Invalid parameter '${e.key}'`);
        }
      }
      let iface = (o.get('if') ?? 'default') as string;
      if (iface === 'default') iface = 'ide';
      const IFACES: DriveInterface[] = ['ide', 'floppy', 'none', 'virtio', 'scsi', 'sd', 'mtd', 'pflash'];
      if (!IFACES.includes(iface as DriveInterface)) throw new CliError(`unsupported bus type '${iface}'`);
      if (iface === 'virtio' && mt.kind === 'isapc') throw new CliError("No 'PCI' bus found for device 'virtio-blk-pci'");
      if (iface === 'sd' || iface === 'mtd' || iface === 'pflash') throw new CliError(`if=${iface} is not supported by qemu-ts`);
      // pc and isapc have no SCSI controller of their own; QEMU 7.2 refuses if=scsi there.
      if (iface === 'scsi') throw new CliError(`machine type does not support if=scsi,bus=${o.get('bus') ?? 0},unit=${o.get('unit') ?? 0}`);
      const mediaS = o.get('media') ?? 'disk';
      if (mediaS !== 'disk' && mediaS !== 'cdrom') throw new CliError(`'${mediaS}' invalid media`);
      const media = mediaS as DriveMedia;
      const fmt = o.get('format') ?? null;
      if (fmt === 'help' || fmt === '?') throw new HelpRequest(`Supported formats: ${FORMATS.join(' ')}\n`);
      if (fmt !== null && !FORMATS.includes(fmt)) throw new CliError(`Unknown driver '${fmt}'`);
      const cacheS = o.get('cache') ?? 'writeback';
      if (!['writeback', 'writethrough', 'none', 'directsync', 'unsafe'].includes(cacheS)) throw new CliError('invalid cache option');
      const werror = o.get('werror') ?? 'enospc';
      if (!['ignore', 'stop', 'report', 'enospc'].includes(werror)) throw new CliError(`'${werror}' invalid write error action`);
      const rerror = o.get('rerror') ?? 'report';
      if (!['ignore', 'stop', 'report'].includes(rerror)) throw new CliError(`'${rerror}' invalid read error action`);
      const snapshot = o.getBool('snapshot', opt.snapshotAll);
      let readonly = o.getBool('readonly', false);
      const maxDevs = iface === 'ide' ? 2 : iface === 'scsi' ? 7 : 0;
      const num = (k: string): number => {
        const v = o.get(k);
        if (v === undefined) return -1;
        const n = parseUint(v);
        if (n === null) throw new CliError(`Parameter '${k}' expects a number`);
        return n;
      };
      const index = num('index');
      let bus = num('bus');
      let unit = num('unit');
      if (index >= 0) {
        if (bus >= 0 || unit >= 0) throw new CliError('index cannot be used with bus and unit');
        bus = maxDevs ? Math.floor(index / maxDevs) : 0;
        unit = maxDevs ? index % maxDevs : index;
      }
      if (bus < 0) bus = 0;
      if (unit < 0) {
        unit = 0;
        while (taken.has(slotKey(iface, bus, unit))) {
          unit++;
          if (maxDevs && unit >= maxDevs) {
            unit -= maxDevs;
            bus++;
          }
        }
      }
      if (maxDevs && unit >= maxDevs) throw new CliError(`unit ${unit} too big (max is ${maxDevs - 1})`);
      if (iface !== 'none' && taken.has(slotKey(iface, bus, unit))) {
        throw new CliError(`drive with bus=${bus}, unit=${unit} (index=${index}) exists`);
      }
      // Machine limits (pc and isapc: two IDE channels, two floppy drives).
      if ((iface === 'ide' && bus > 1) || (iface === 'floppy' && (bus > 0 || unit > 1))) {
        throw new CliError(`machine type does not support if=${iface},bus=${bus},unit=${unit}`);
      }
      let id = o.get('id');
      if (id === undefined) {
        const mediaStr = iface === 'ide' || iface === 'scsi' ? (media === 'cdrom' ? '-cd' : '-hd') : '';
        id = maxDevs ? `${iface}${bus}${mediaStr}${unit}` : `${iface}${mediaStr}${unit}`;
      }
      if (ids.has(id)) throw new CliError(`Duplicate ID '${id}' for drive`);
      ids.add(id);
      let file: string | null = o.get('file') ?? null;
      if (file === '') file = null;
      if (media === 'cdrom') readonly = true;
      const device = iface === 'ide' ? (media === 'cdrom' ? 'ide-cd' : 'ide-hd') : iface === 'floppy' ? 'floppy' : iface === 'virtio' ? 'virtio-blk-pci' : iface === 'scsi' ? (media === 'cdrom' ? 'scsi-cd' : 'scsi-hd') : null;
      if (file === null && device !== null && media === 'disk' && iface !== 'floppy') throw CliError.bare('Device needs media, but drive is empty');
      const extra = o.toRecord(['file', 'if', 'bus', 'unit', 'index', 'media', 'format', 'snapshot', 'cache', 'readonly', 'id', 'werror', 'rerror']);
      if (pd.source === '-hda' && opt.hdachs) {
        const [c, h, s, t] = opt.hdachs.split(',');
        Object.assign(extra, { cyls: c!, heads: h!, secs: s! }, t ? { trans: t } : {});
      }
      const di: DriveInfo = {
        id, file, format: fmt, formatProbed: false, interface: iface as DriveInterface, bus, unit, index,
        media, readonly, snapshot, cache: cacheS as CacheMode, werror: werror as ErrorAction, rerror: rerror as ErrorAction,
        device, deviceId: null, deviceProps: {}, source: pd.source, origin: pd.where, extra, sizeBytes: null,
      };
      if (iface !== 'none') taken.set(slotKey(iface, bus, unit), di);
      out.push(di);
    });
  }
  // QEMU's default drives: an empty CD-ROM at ide index 2 and an empty floppy drive A.
  if (!nd) {
    if (!taken.has('ide:1:0')) {
      out.push({ id: 'ide1-cd0', file: null, format: null, formatProbed: false, interface: 'ide', bus: 1, unit: 0, index: 2, media: 'cdrom', readonly: true, snapshot: opt.snapshotAll, cache: 'writeback', werror: 'enospc', rerror: 'report', device: 'ide-cd', deviceId: null, deviceProps: {}, source: 'default', origin: 'default', extra: {}, sizeBytes: null });
    }
    if (!taken.has('floppy:0:0')) {
      out.push({ id: 'floppy0', file: null, format: null, formatProbed: false, interface: 'floppy', bus: 0, unit: 0, index: 0, media: 'disk', readonly: false, snapshot: opt.snapshotAll, cache: 'writeback', werror: 'enospc', rerror: 'report', device: 'floppy', deviceId: null, deviceProps: {}, source: 'default', origin: 'default', extra: {}, sizeBytes: null });
    }
  }
  return out;
}

/** An empty drive for a -device ide-cd/floppy given without drive= (no medium). */
export function emptyDriveFor(model: DeviceModel, deviceId: string | null, drives: DriveInfo[], where: string): string {
  let n = 0;
  while (drives.some((d) => d.id === `${model.name}-empty${n}`)) n++;
  const id = `${model.name}-empty${n}`;
  drives.push({
    id, file: null, format: null, formatProbed: false, interface: 'none', bus: 0, unit: 0, index: -1,
    media: model.name === 'ide-cd' ? 'cdrom' : 'disk', readonly: model.name === 'ide-cd', snapshot: false,
    cache: 'writeback', werror: 'enospc', rerror: 'report', device: null, deviceId, deviceProps: {},
    source: '-device', origin: where, extra: {}, sizeBytes: null,
  });
  return id;
}

export function attachDrive(model: DeviceModel, id: string, props: Record<string, string>, bus: string | null, drives: DriveInfo[], used: Set<string>, ideTaken: Set<string>, deviceId: string | null = null): void {
  const dr = drives.find((d) => d.id === id);
  if (!dr) throw new CliError(`Property '${model.name}.drive' can't find value '${id}'`);
  if (dr.interface !== 'none') {
    throw new CliError(`Drive '${id}' is already in use because it has been automatically connected to another device (did you need 'if=none' in the drive options?)`);
  }
  if (used.has(id)) throw new CliError(`Drive '${id}' is already in use by another device`);
  used.add(id);
  dr.deviceId = deviceId;
  dr.deviceProps = Object.fromEntries(Object.entries(props).filter(([k]) => k !== 'drive'));
  if (model.name === 'ide-hd' || model.name === 'ide-cd') {
    let b = -1;
    if (bus !== null) {
      const m = /^ide\.([01])$/.exec(bus);
      if (!m) throw new CliError(`Bus '${bus}' not found`);
      b = Number(m[1]);
    }
    let u = props.unit !== undefined ? parseUint(props.unit)! : -1;
    if (u > 1) throw new CliError(`Invalid IDE unit ${u}`);
    if (b >= 0 && u >= 0) {
      if (ideTaken.has(`${b}:${u}`)) throw new CliError(`IDE unit ${u} is in use`);
    } else {
      let found = false;
      for (let bb = b >= 0 ? b : 0; bb <= (b >= 0 ? b : 1) && !found; bb++) {
        for (let uu = u >= 0 ? u : 0; uu <= (u >= 0 ? u : 1); uu++) {
          if (!ideTaken.has(`${bb}:${uu}`)) {
            b = bb;
            u = uu;
            found = true;
            break;
          }
        }
      }
      if (!found) throw new CliError(b >= 0 && u >= 0 ? `IDE unit ${u} is in use` : 'No free IDE bus');
    }
    ideTaken.add(`${b}:${u}`);
    dr.bus = b;
    dr.unit = u;
    dr.device = model.name;
    dr.media = model.name === 'ide-cd' ? 'cdrom' : 'disk';
    if (dr.media === 'cdrom') dr.readonly = true;
  } else if (model.name === 'floppy') {
    const u = props.unit !== undefined ? parseUint(props.unit)! : drives.some((d) => d.device === 'floppy' && d.unit === 0) ? 1 : 0;
    if (u > 1) throw new CliError(`Invalid floppy unit ${u}`);
    dr.bus = 0;
    dr.unit = u;
    dr.device = 'floppy';
  } else {
    dr.device = model.name;
  }
  if (dr.file === null && model.name === 'ide-hd') throw CliError.bare('Device needs media, but drive is empty');
}
