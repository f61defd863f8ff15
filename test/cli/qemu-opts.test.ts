/** QemuOpts syntax and QEMU's size rules (values checked with QEMU 7.2: -m, -drive, -netdev). */
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/errors.js';
import { parseBool, parseQemuOpts, strToSize } from '../../src/cli/qemu-opts.js';

describe('parseQemuOpts', () => {
  it('implied first key only when the first element has no "="', () => {
    expect(parseQemuOpts('nic,model=ne2k_pci', 'type').entries).toEqual([{ key: 'type', value: 'nic' }, { key: 'model', value: 'ne2k_pci' }]);
    expect(parseQemuOpts('1G', 'size').entries).toEqual([{ key: 'size', value: '1G' }]);
    expect(parseQemuOpts('size=1G,maxmem=2G', 'size').entries).toEqual([{ key: 'size', value: '1G' }, { key: 'maxmem', value: '2G' }]);
  });
  it(',, is a literal comma, in values and in the implied value', () => {
    expect(parseQemuOpts('file=a,,b.img,format=raw').get('file')).toBe('a,b.img');
    expect(parseQemuOpts('x,,y,id=1', 'path').get('path')).toBe('x,y');
    expect(parseQemuOpts('file=a,,,,b').get('file')).toBe('a,,b');
  });
  it('short-form booleans: foo → on, nofoo → off, with QEMU\'s deprecation text', () => {
    const w: string[] = [];
    const o = parseQemuOpts('socket,server,nowait', 'backend', (m) => w.push(m));
    expect(o.toRecord()).toEqual({ backend: 'socket', server: 'on', wait: 'off' });
    expect(w).toEqual(["short-form boolean option 'server' deprecated\nPlease use server=on instead", "short-form boolean option 'wait' deprecated\nPlease use wait=off instead"]);
  });
  it('help and ? ask for help; repeated keys are kept, get() is last-wins', () => {
    expect(parseQemuOpts('e1000,help', 'driver').help).toBe(true);
    expect(parseQemuOpts('?', 'type').help).toBe(true);
    const o = parseQemuOpts('hostfwd=tcp::1-:1,hostfwd=tcp::2-:2,x=1,x=2');
    expect(o.getAll('hostfwd')).toEqual(['tcp::1-:1', 'tcp::2-:2']);
    expect(o.get('x')).toBe('2');
  });
  it('empty values and empty elements', () => {
    expect(parseQemuOpts('file=,if=none').toRecord()).toEqual({ file: '', if: 'none' });
    expect(parseQemuOpts('a=1,,').toRecord()).toEqual({ a: '1,' });
  });
  it('an empty element is an empty key, which check() rejects (QEMU: -action ,)', () => {
    expect(() => parseQemuOpts(',').check(['reboot'])).toThrow("Invalid parameter ''");
    // ",," stays an escaped comma, not an empty element.
    expect(parseQemuOpts('reboot=reset,,x').toRecord()).toEqual({ reboot: 'reset,x' });
  });
  it('check() names the first unknown key as QEMU does', () => {
    expect(() => parseQemuOpts('size=1,foo=1', 'size').check(['size'])).toThrow("Invalid parameter 'foo'");
  });
});

describe('booleans', () => {
  it('on/yes/true/y and off/no/false/n', () => {
    for (const v of ['on', 'yes', 'true', 'y']) expect(parseBool(v, 'k')).toBe(true);
    for (const v of ['off', 'no', 'false', 'n']) expect(parseBool(v, 'k')).toBe(false);
    expect(() => parseBool('maybe', 'snapshot')).toThrow(new CliError("Parameter 'snapshot' expects 'on' or 'off'"));
  });
});

describe('sizes (qemu_strtosz)', () => {
  it('binary units of any case, B for bytes', () => {
    expect(strToSize('512')).toBe(512);
    expect(strToSize('1k')).toBe(1024);
    expect(strToSize('1K')).toBe(1024);
    expect(strToSize('2M')).toBe(2 << 20);
    expect(strToSize('3g')).toBe(3 * 2 ** 30);
    expect(strToSize('1T')).toBe(2 ** 40);
    expect(strToSize('1P')).toBe(2 ** 50);
    expect(strToSize('100B')).toBe(100);
  });
  it('-m defaults to MiB; fractions only with a unit; no exponent, sign or junk', () => {
    expect(strToSize('1024', 'm')).toBe(2 ** 30);
    expect(strToSize('1.5G', 'm')).toBe(1610612736);
    expect(strToSize('.5G')).toBe(2 ** 29);
    expect(strToSize('1.5', 'm')).toBeNull();
    expect(strToSize('1.5B')).toBeNull();
    expect(strToSize('1e3')).toBeNull();
    expect(strToSize('-1')).toBeNull();
    expect(strToSize('1024X')).toBeNull();
    expect(strToSize('')).toBeNull();
  });
  it('hex without a unit; 2^64 and above rejected', () => {
    expect(strToSize('0x1000')).toBe(4096);
    expect(strToSize('16E')).toBeNull();
    expect(strToSize('15E')).toBe(15 * 2 ** 60);
  });
});
