/**
 * The x87 contract as seen from the integer core. The FPU itself lives in
 * src/cpu/fpu/fpu.ts (another module); the core only needs this shape, so it
 * can run (raising #NM/#UD for ESC opcodes) before the FPU is attached.
 */

export interface FpuHost {
  read8(lin: number): number; read16(lin: number): number; read32(lin: number): number;
  write8(lin: number, v: number): void; write16(lin: number, v: number): void; write32(lin: number, v: number): void;
}

export interface FpuLike {
  reset(): void;
  execute(op: number, modrm: number, lin: number, mode: number, eflags: number): number;
  setInstructionPointer(cs: number, eip: number, ds: number, dataLin: number, opcode11: number, dataOff?: number): void;
  readonly pendingException: boolean;
  statusWord(): number;
  /** EMMS: tag every register empty. */
  emms?(): void;
  fxsave(lin: number, mode: number): void;
  fxrstor(lin: number, mode: number): void;
  saveState(): unknown;
  loadState(s: unknown): void;
}
