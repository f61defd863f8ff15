/**
 * ISA IDE controller for the isapc machine: the primary and secondary channels
 * at the legacy ports and IRQs 14/15, no bus mastering (PIO only).
 */
import type { IoBus } from '../../bus/io-bus.js';
import type { IrqLine } from '../../bus/irq.js';
import { IdeChannel } from './ide-channel.js';
import { PRIMARY, SECONDARY, registerLegacyPorts } from './ide-ports.js';

export class IsaIde {
  readonly channels: [IdeChannel, IdeChannel];

  /** @param irqs lines for IRQ 14 (primary) and IRQ 15 (secondary) */
  constructor(io: IoBus, irqs: [IrqLine, IrqLine]) {
    this.channels = [new IdeChannel(irqs[0], 0), new IdeChannel(irqs[1], 1)];
    registerLegacyPorts(io, this.channels[0], PRIMARY.cmd, PRIMARY.ctl, 'ide0');
    registerLegacyPorts(io, this.channels[1], SECONDARY.cmd, SECONDARY.ctl, 'ide1');
  }

  reset(): void { for (const c of this.channels) c.reset(); }
  idle(): Promise<unknown> { return Promise.all(this.channels.map((c) => c.idle())); }
  saveState(): Record<string, unknown> { return { channels: this.channels.map((c) => c.saveState()) }; }
  loadState(s: Record<string, unknown>): void {
    const c = s['channels'];
    if (!Array.isArray(c) || c.length !== 2) throw new Error('isa-ide: bad saved state');
    this.channels[0].loadState(c[0] as Record<string, unknown>);
    this.channels[1].loadState(c[1] as Record<string, unknown>);
  }
}
