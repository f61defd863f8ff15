/** qemu-img bitmap: persistent dirty bitmaps are not implemented by qemu-ts. */
import { ImgError, type IO } from '../common.js';

export async function run(_argv: string[], _io: IO): Promise<number> {
  throw new ImgError('bitmap: persistent dirty bitmaps are not supported by qemu-ts-img');
}
