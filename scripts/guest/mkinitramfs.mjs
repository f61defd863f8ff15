#!/usr/bin/env node
// Builds a gzip-compressed cpio (newc) initramfs from a list of entries, without needing cpio(1).
// Usage: node mkinitramfs.mjs OUT.gz ENTRY...
//   ENTRY is  dir:PATH:MODE  |  file:PATH:MODE:HOSTFILE  |  symlink:PATH:TARGET  |  cdev:PATH:MODE:MAJOR:MINOR
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const [out, ...entries] = process.argv.slice(2);
if (!out || entries.length === 0) {
  console.error('usage: mkinitramfs.mjs OUT.gz ENTRY...');
  process.exit(2);
}

const chunks = [];
let ino = 1;
const hex = (n) => n.toString(16).padStart(8, '0');
const pad4 = (n) => (4 - (n % 4)) % 4;

function add(name, mode, data, rdevMajor = 0, rdevMinor = 0) {
  const nameBytes = Buffer.from(name + '\0');
  const header = '070701' + [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0].map(hex).join('');
  chunks.push(Buffer.from(header, 'ascii'), nameBytes, Buffer.alloc(pad4(110 + nameBytes.length)), data, Buffer.alloc(pad4(data.length)));
}

for (const e of entries) {
  const [kind, path, a, b, c] = e.split(':');
  if (kind === 'dir') add(path, 0o040000 | parseInt(a, 8), Buffer.alloc(0));
  else if (kind === 'file') add(path, 0o100000 | parseInt(a, 8), readFileSync(b));
  else if (kind === 'symlink') add(path, 0o120777, Buffer.from(a));
  else if (kind === 'cdev') add(path, 0o020000 | parseInt(a, 8), Buffer.alloc(0), Number(b), Number(c));
  else { console.error(`unknown entry kind: ${e}`); process.exit(2); }
}
add('TRAILER!!!', 0, Buffer.alloc(0));
writeFileSync(out, gzipSync(Buffer.concat(chunks), { level: 9 }));
