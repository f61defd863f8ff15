import { describe, it, expect, afterEach } from 'vitest';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { I8042 } from '../../../src/devices/isa/i8042.js';
import { Ps2Keyboard, Ps2Mouse } from '../../../src/devices/isa/ps2.js';
import { BTN_LEFT, BTN_RIGHT, Ps2InputSink } from '../../../src/display/input.js';
import type { VncServer } from '../../../src/display/vnc/server.js';
import { FakeScreen, serve } from './fixtures.js';
import { RfbClient } from './rfb-client.js';

/** The PS/2 devices alone (nothing drains their queues) or, with `controller`, inside an i8042. */
function rig(controller = false) {
  const kbc = controller ? new I8042(new VirtualClock(), null, null) : { keyboard: new Ps2Keyboard(new VirtualClock()), mouse: new Ps2Mouse() };
  const sink = new Ps2InputSink(kbc);
  const take = (q: { data: number[]; clear(): void }) => { const d = q.data.slice(); q.clear(); return d; };
  return { kbc, sink, kbd: () => take(kbc.keyboard.q), mouse: () => take(kbc.mouse.q) };
}

const open: VncServer[] = [];
afterEach(async () => { for (const s of open.splice(0)) await s.close(); });

describe('Ps2InputSink', () => {
  it('sends keys to the PS/2 keyboard as set 2 scan codes', () => {
    const { sink, kbd } = rig();
    sink.key(0x1e, true); sink.key(0x1e, false); // A: 1C, F0 1C
    expect(kbd()).toEqual([0x1c, 0xf0, 0x1c]);
    sink.key(0xc8, true); sink.key(0xc8, false); // Up: E0 75, E0 F0 75
    expect(kbd()).toEqual([0xe0, 0x75, 0xe0, 0xf0, 0x75]);
    sink.key(0xc6, true); // Pause
    expect(kbd()).toEqual([0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77]);
  });
  it('sends SysRq (0x54) as Print Screen unless Alt is held', () => {
    const { sink, kbd } = rig();
    sink.key(0x54, true);
    expect(kbd()).toEqual([0xe0, 0x12, 0xe0, 0x7c]);
    sink.key(0x38, true); kbd();
    sink.key(0x54, true);
    expect(kbd()).toEqual([0x84]);
  });
  it('moves the PS/2 mouse (y up in PS/2 packets) once the guest enabled reporting', () => {
    const { kbc, sink, mouse } = rig();
    kbc.mouse.write(0xf4); mouse();
    sink.pointerRel(5, 3, 0, BTN_LEFT | BTN_RIGHT);
    expect(mouse()).toEqual([0x08 | 3 | 0x20, 5, 0xfd]);
  });
  it('reports LEDs set by the guest', () => {
    const { kbc, sink } = rig();
    const seen: number[] = [];
    sink.onLedChange((l) => seen.push(l));
    kbc.keyboard.write(0xed); kbc.keyboard.write(0x06);
    expect(sink.ledState()).toBe(6);
    expect(seen).toEqual([6]);
  });
  it('carries a VNC client\'s keys and pointer through to the i8042', async () => {
    const { kbc, sink, kbd, mouse } = rig(true);
    kbc.mouse.write(0xf4); mouse(); // the ACK sits in the controller's output buffer from now on
    const srv = await serve(new FakeScreen(64, 48), sink);
    open.push(srv);
    srv.refresh();
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.key(true, 0xffe3); c.key(true, 0xffe9); c.key(true, 0xffff); // ctrl-alt-delete
    c.key(false, 0xffff); c.key(false, 0xffe9); c.key(false, 0xffe3);
    c.pointer(0, 10, 10); c.pointer(1, 12, 10);
    await expect.poll(() => kbc.mouse.q.data.length).toBe(3); // the pointer events come last
    expect(kbd()).toEqual([0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14]);
    expect(mouse()).toEqual([0x09, 2, 0]);
    c.close();
  });
});
