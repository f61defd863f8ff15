/**
 * Space a qcow2 image needs (qemu's qcow2_calc_prealloc_size and
 * qcow2_refcount_metadata_size): one header cluster, whole L2 tables, the
 * L1 table rounded to clusters, and refcount blocks + table found by
 * iterating to a fixed point (refcounts must also cover themselves).
 */
const ceilDiv = (a: number, b: number) => Math.floor((a + b - 1) / b);
const roundUp = (a: number, b: number) => ceilDiv(a, b) * b;

export function refcountMetadataSize(clusters: number, cs: number, refcountOrder: number): number {
  const blocksPerTableCluster = cs / 8;
  const refcountsPerBlock = (cs * 8) / (1 << refcountOrder);
  let table = 0;
  let blocks = 0;
  let n = 0;
  let last: number;
  do {
    last = n;
    blocks = ceilDiv(clusters + table + blocks, refcountsPerBlock);
    table = ceilDiv(blocks, blocksPerTableCluster);
    n = clusters + blocks + table;
  } while (n !== last);
  return (blocks + table) * cs;
}

/** Fully allocated size of a qcow2 image of `size` bytes (metadata + data). */
export function qcow2FullSize(size: number, cs: number, refcountBits: number, extendedL2: boolean): number {
  const aligned = roundUp(size, cs);
  const l2e = extendedL2 ? 16 : 8;
  let meta = cs;
  let nl2e = aligned / cs;
  nl2e = roundUp(nl2e, cs / l2e);
  meta += nl2e * l2e;
  let nl1e = (nl2e * l2e) / cs;
  nl1e = roundUp(nl1e, cs / 8);
  meta += nl1e * 8;
  meta += refcountMetadataSize((meta + aligned) / cs, cs, Math.log2(refcountBits));
  return meta + aligned;
}
