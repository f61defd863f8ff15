/**
 * Direct Linux boot (-kernel/-initrd/-append) through fw_cfg, as QEMU does it.
 *
 * The machine does not run the kernel itself: it parses the bzImage's setup
 * header (Linux boot protocol 2.00+), patches the fields a boot loader fills in
 * (loader type, heap end, command-line pointer, initrd address and size, video
 * mode from `vga=`) and publishes setup code, protected-mode kernel, command
 * line and initrd through the fw_cfg kernel keys. SeaBIOS then runs the
 * `linuxboot_dma.bin` option ROM (from QEMU's firmware folder), which copies
 * everything into place over fw_cfg DMA and jumps to the setup code.
 *
 * Addresses follow QEMU's choices so a guest sees the same memory layout:
 * protocol >= 2.02 puts the real-mode part at 0x10000 and the command line at
 * 0x20000; older protocols use 0x90000/0x9a000.
 */

export const FW_CFG = {
  KERNEL_ADDR: 0x07, KERNEL_SIZE: 0x08, INITRD_ADDR: 0x0a, INITRD_SIZE: 0x0b,
  KERNEL_DATA: 0x11, INITRD_DATA: 0x12, CMDLINE_ADDR: 0x13, CMDLINE_SIZE: 0x14, CMDLINE_DATA: 0x15,
  SETUP_ADDR: 0x16, SETUP_SIZE: 0x17, SETUP_DATA: 0x18,
} as const;

export interface LinuxBootImage {
  protocol: number;
  setupAddr: number;
  setup: Uint8Array;
  kernelAddr: number;
  kernel: Uint8Array;
  cmdlineAddr: number;
  /** NUL-terminated command line bytes. */
  cmdline: Uint8Array;
  initrdAddr: number;
  initrd: Uint8Array | null;
}

export class LinuxBootError extends Error {}

const le16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const put16 = (b: Uint8Array, o: number, v: number) => { b[o] = v; b[o + 1] = v >>> 8; };
const put32 = (b: Uint8Array, o: number, v: number) => { b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24; };

/** True when the file carries the Linux boot protocol header ("HdrS" at 0x202). */
export function isLinuxBzImage(file: Uint8Array): boolean {
  return file.length > 0x210 && le32(file, 0x202) === 0x53726448;
}

/** The `vga=` value of a command line as the boot protocol's vid_mode field. */
function videoMode(cmdline: string): number | null {
  const m = /(?:^|\s)vga=(\S+)/.exec(cmdline);
  if (!m) return null;
  const v = m[1]!;
  if (v === 'normal') return 0xffff;
  if (v === 'ext') return 0xfffe;
  if (v === 'ask') return 0xfffd;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new LinuxBootError(`invalid 'vga=' kernel parameter: ${v}`);
  return n;
}

/**
 * Lay out a bzImage for direct boot.
 * @param belowFourGiB RAM below 4 GiB in bytes (initrd goes as high as the kernel allows under it)
 * @param acpiDataSize bytes at the top of low RAM that the firmware keeps for ACPI tables
 */
export function prepareLinuxBoot(file: Uint8Array, cmdline: string, initrd: Uint8Array | null,
  belowFourGiB: number, acpiDataSize = 0x20000): LinuxBootImage {
  if (!isLinuxBzImage(file)) throw new LinuxBootError('not a Linux kernel image (no boot protocol header)');
  const protocol = le16(file, 0x206);
  const loadHigh = (file[0x211]! & 1) !== 0;
  let setupAddr: number, cmdlineAddr: number, kernelAddr: number;
  if (protocol < 0x200 || !loadHigh) { setupAddr = 0x90000; cmdlineAddr = 0x9a000; kernelAddr = 0x10000; }
  else if (protocol < 0x202) { setupAddr = 0x90000; cmdlineAddr = 0x9a000; kernelAddr = 0x100000; }
  else { setupAddr = 0x10000; cmdlineAddr = 0x20000; kernelAddr = 0x100000; }

  let setupSects = file[0x1f1]!;
  if (setupSects === 0) setupSects = 4;
  const setupSize = (setupSects + 1) * 512;
  if (setupSize > file.length) throw new LinuxBootError('kernel image is truncated (setup code larger than the file)');
  const setup = file.slice(0, setupSize);
  const kernel = file.subarray(setupSize);

  const cmd = new TextEncoder().encode(cmdline + '\0');
  if (protocol >= 0x206) {
    const max = le32(file, 0x238);
    if (max !== 0 && cmd.length - 1 > max) throw new LinuxBootError(`kernel command line too long (${cmd.length - 1} > ${max} bytes)`);
  }
  if (protocol >= 0x202) put32(setup, 0x228, cmdlineAddr);
  else { put16(setup, 0x20, 0xa33f); put16(setup, 0x22, cmdlineAddr - setupAddr); }
  if (protocol >= 0x200) setup[0x210] = 0xb0; // type_of_loader: "QEMU"
  if (protocol >= 0x201) {
    setup[0x211] = setup[0x211]! | 0x80; // CAN_USE_HEAP
    put16(setup, 0x224, cmdlineAddr - setupAddr - 0x200);
  }
  const vid = videoMode(cmdline);
  if (vid !== null) put16(setup, 0x1fa, vid);

  let initrdAddr = 0;
  if (initrd !== null) {
    if (protocol < 0x200) throw new LinuxBootError('the Linux kernel is too old to load a ram disk');
    let initrdMax = protocol >= 0x203 ? le32(file, 0x22c) : 0x37ffffff;
    if (initrdMax >= belowFourGiB - acpiDataSize) initrdMax = belowFourGiB - acpiDataSize - 1;
    if (initrd.length >= initrdMax) {
      throw new LinuxBootError(`initrd is too large (${initrd.length} bytes, max ${initrdMax}); give the machine more memory with -m`);
    }
    initrdAddr = (initrdMax - initrd.length) & ~4095;
    if (initrdAddr < kernelAddr + kernel.length) {
      throw new LinuxBootError('not enough memory for kernel and initrd; give the machine more memory with -m');
    }
    put32(setup, 0x218, initrdAddr);
    put32(setup, 0x21c, initrd.length);
  }
  return { protocol, setupAddr, setup, kernelAddr, kernel, cmdlineAddr, cmdline: cmd, initrdAddr, initrd };
}

/** What linux-boot needs of the fw_cfg device. */
export interface FwCfgItems {
  addBytes(key: number, data: Uint8Array): void;
}

function u32(v: number): Uint8Array { const b = new Uint8Array(4); put32(b, 0, v); return b; }

/** Publish a prepared image through the fw_cfg kernel keys. */
export function publishLinuxBoot(img: LinuxBootImage, fw: FwCfgItems): void {
  fw.addBytes(FW_CFG.CMDLINE_ADDR, u32(img.cmdlineAddr));
  fw.addBytes(FW_CFG.CMDLINE_SIZE, u32(img.cmdline.length));
  fw.addBytes(FW_CFG.CMDLINE_DATA, img.cmdline);
  fw.addBytes(FW_CFG.SETUP_ADDR, u32(img.setupAddr));
  fw.addBytes(FW_CFG.SETUP_SIZE, u32(img.setup.length));
  fw.addBytes(FW_CFG.SETUP_DATA, img.setup);
  fw.addBytes(FW_CFG.KERNEL_ADDR, u32(img.kernelAddr));
  fw.addBytes(FW_CFG.KERNEL_SIZE, u32(img.kernel.length));
  fw.addBytes(FW_CFG.KERNEL_DATA, img.kernel);
  if (img.initrd !== null) {
    fw.addBytes(FW_CFG.INITRD_ADDR, u32(img.initrdAddr));
    fw.addBytes(FW_CFG.INITRD_SIZE, u32(img.initrd.length));
    fw.addBytes(FW_CFG.INITRD_DATA, img.initrd);
  }
}
