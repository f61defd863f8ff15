/** qemu-img rebase [-q] [-f fmt] [-t cache] [-T cache] [-p] [-u] -b backing [-F fmt] FILE */
import { ImgError, parseArgs, usageError, type IO } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { Progress } from '../progress.js';
import { WINDOW } from '../copy.js';
import { has, type ChangeBacking } from '../capabilities.js';

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let newBacking: string | undefined;
  let newFmt: string | undefined;
  let unsafe = false;
  let progress = false;
  let quiet = false;
  const ops = parseArgs(argv, ':hf:F:b:upt:T:qU', [
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'F': newFmt = a; break;
      case 'b': newBacking = a; break;
      case 'u': unsafe = true; break;
      case 'p': progress = true; break;
      case 'q': quiet = true; break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (quiet) progress = false;
  if (newBacking === undefined && !unsafe) throw usageError('Must specify backing file (-b) or use unsafe mode (-u)');
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  const filename = ops[0]!;
  const target = newBacking ?? '';
  const block = await import('../../block/index.js');
  const needFmt = () => {
    if (target !== '' && newFmt === undefined) {
      throw new ImgError(`Could not change the backing file to '${target}': backing format must be specified`);
    }
  };
  const capable = () => {
    if (!has(top, 'changeBackingFile')) {
      throw new ImgError(`Could not change the backing file to '${target}': Operation not supported`);
    }
  };
  const top: BlockNode = await block.openImage(filename, { readOnly: false, format: fmt, noBacking: unsafe });
  let nb: BlockNode | null = null;
  try {
    if (block.isProbedRaw(top)) io.err(block.probedRawWarning(filename));
    if (!unsafe) {
      if (target !== '') {
        const path = block.resolveBackingPath(filename, target);
        try {
          nb = await block.openImage(path, { readOnly: true, format: newFmt });
        } catch (e) {
          // qemu quotes the protocol's message only, not the format layer's "Could not open 'F': " wrapper
          const msg = (e as Error).message;
          const wrap = `Could not open '${path}': `;
          throw new ImgError(`Could not open new backing file '${path}': ${msg.startsWith(wrap + 'Could not open') ? msg.slice(wrap.length) : msg}`);
        }
      }
      needFmt();
      capable();
      const size = top.size();
      const newSize = nb ? nb.size() : 0;
      const gran = top.clusterSize() ?? 65536;
      const oldBuf = new Uint8Array(WINDOW);
      const newBuf = new Uint8Array(WINDOW);
      const bar = await Progress.start(io, progress, 'rebasing', 2);
      let off = 0;
      while (off < size) {
        const st = await top.blockStatus(off, Math.min(size - off, WINDOW));
        let len = Math.max(1, Math.min(st.length, WINDOW, size - off));
        if (!(st.allocated && st.depth === 0)) {
          // work on whole clusters so writes never need copy-on-write
          const a = Math.floor(off / gran) * gran;
          const e = Math.min(size, Math.ceil((off + len) / gran) * gran, a + WINDOW);
          len = e - off;
          const ov = oldBuf.subarray(0, e - a);
          const nv = newBuf.subarray(0, e - a);
          await top.read(a, ov);
          nv.fill(0);
          if (nb && a < newSize) await nb.read(a, nv.subarray(0, Math.min(nv.length, newSize - a)));
          for (let c = a; c < e; c += gran) {
            const ce = Math.min(e, c + gran);
            const o1 = Buffer.from(ov.buffer, c - a, ce - c);
            const n1 = Buffer.from(nv.buffer, c - a, ce - c);
            if (!o1.equals(n1)) await top.write(c, ov.subarray(c - a, ce - a));
          }
        }
        off += len;
        bar.update((off * 100) / size, off);
      }
      bar.update(100);
      bar.end();
    } else {
      needFmt();
      capable();
    }
    await (top as BlockNode & ChangeBacking).changeBackingFile(target === '' ? null : target, target === '' ? null : newFmt ?? null);
    return 0;
  } finally {
    if (nb) await block.closeChain(nb);
    await block.closeChain(top);
  }
}
