/**
 * The APIC bus: how interrupt messages travel between IO-APICs and local
 * APICs (and between local APICs, for IPIs). It resolves a destination
 * (physical APIC ID or logical destination, flat or cluster model) to the set
 * of local APICs that accept it, and carries EOI broadcasts from a local APIC
 * back to every IO-APIC (how level-triggered pins leave Remote IRR on an
 * 82093AA, which has no EOI register).
 *
 * Delivery is instantaneous: there is no bus arbitration, so delivery status
 * bits always read idle.
 */

/** Delivery modes (ICR, LVT and IO-APIC redirection entry bits 8-10). */
export const DM_FIXED = 0;
export const DM_LOWEST = 1;
export const DM_SMI = 2;
export const DM_NMI = 4;
export const DM_INIT = 5;
export const DM_STARTUP = 6;
export const DM_EXTINT = 7;

/** What the bus needs from a local APIC. */
export interface ApicTarget {
  /** Physical APIC ID (8 bits). */
  readonly apicId: number;
  /** Does this APIC accept logical destination `dest` (LDR/DFR match)? */
  matchesLogical(dest: number): boolean;
  /** Accept a message; `level` = level-triggered (sets TMR). */
  accept(mode: number, vector: number, level: boolean): void;
}

/** What the bus needs from an IO-APIC. */
export interface EoiTarget {
  eoiBroadcast(vector: number): void;
}

export class ApicBus {
  readonly lapics: ApicTarget[] = [];
  readonly ioapics: EoiTarget[] = [];

  addLapic(l: ApicTarget): void { this.lapics.push(l); }
  addIoApic(io: EoiTarget): void { this.ioapics.push(io); }

  /**
   * Deliver one message. `logical` selects the logical destination mode.
   * Physical destination 0xFF and logical destination 0xFF are broadcasts.
   * Lowest priority goes to the first matching APIC (no arbitration, as QEMU).
   */
  deliver(dest: number, logical: boolean, mode: number, vector: number, level: boolean): void {
    const ls = this.lapics;
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i]!;
      const hit = logical ? l.matchesLogical(dest) : (dest === 0xff || dest === l.apicId);
      if (!hit) continue;
      l.accept(mode, vector, level);
      if (mode === DM_LOWEST) return;
    }
  }

  /** Deliver to one APIC (ICR shorthand self). */
  deliverTo(target: ApicTarget, mode: number, vector: number, level: boolean): void {
    target.accept(mode, vector, level);
  }

  /** Deliver to every APIC, or every APIC but `except` (ICR shorthands). */
  deliverAll(except: ApicTarget | null, mode: number, vector: number, level: boolean): void {
    const ls = this.lapics;
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i]!;
      if (l === except) continue;
      l.accept(mode, vector, level);
      if (mode === DM_LOWEST) return;
    }
  }

  eoiBroadcast(vector: number): void {
    const io = this.ioapics;
    for (let i = 0; i < io.length; i++) io[i]!.eoiBroadcast(vector);
  }
}
