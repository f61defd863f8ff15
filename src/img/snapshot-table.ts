/** The snapshot table qemu-img prints in `info` and `snapshot -l`. */
import type { SnapshotInfo } from '../block/types.js';
import { humanSize } from '../util/size.js';

const pad2 = (n: number) => String(n).padStart(2, '0');

export function snapshotHeader(): string {
  return `${'ID'.padEnd(10)}${'TAG'.padEnd(17)}${'VM SIZE'.padStart(8)}${'DATE'.padStart(20)}` +
    `${'VM CLOCK'.padStart(13)}${'ICOUNT'.padStart(11)}`;
}

function localDate(sec: number): string {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function vmClock(ns: number): string {
  const ms = Math.floor(ns / 1e6);
  const secs = Math.floor(ms / 1000);
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}.${String(ms % 1000).padStart(3, '0')}`;
}

export function snapshotRow(sn: SnapshotInfo): string {
  const icount = sn.icount === -1 ? '' : String(sn.icount);
  return `${sn.id.padEnd(9)} ${sn.name.padEnd(16)} ${humanSize(sn.vmStateSize).padStart(8)}` +
    `${localDate(sn.dateSec).padStart(20)}${vmClock(sn.vmClockNsec).padStart(13)}${icount.padStart(11)}`;
}

/** "Snapshot list:" block with one line per snapshot (each line ends in \n). */
export function snapshotList(list: SnapshotInfo[]): string {
  let s = 'Snapshot list:\n' + snapshotHeader() + '\n';
  for (const sn of list) s += snapshotRow(sn) + '\n';
  return s;
}

/** JSON shape of a snapshot as `info --output=json` writes it. */
export function snapshotJson(sn: SnapshotInfo): Record<string, unknown> {
  return {
    'icount': sn.icount,
    'vm-clock-nsec': sn.vmClockNsec % 1e9,
    'name': sn.name,
    'date-sec': sn.dateSec,
    'date-nsec': sn.dateNsec,
    'vm-clock-sec': Math.floor(sn.vmClockNsec / 1e9),
    'id': sn.id,
    'vm-state-size': sn.vmStateSize,
  };
}
