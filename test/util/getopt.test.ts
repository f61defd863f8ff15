import { describe, expect, it } from 'vitest';
import { Getopt } from '../../src/util/getopt.js';

function all(argv: string[], short: string, long = [] as ConstructorParameters<typeof Getopt>[2]) {
  const g = new Getopt(argv, short, long);
  const seen: string[] = [];
  for (let r = g.next(); r; r = g.next()) {
    seen.push(r.opt === '?' || r.opt === ':' ? `${r.opt}(${g.quote()})` : r.arg !== undefined ? `${r.opt}=${r.arg}` : r.opt);
    if (r.opt === '?' || r.opt === ':') break;
  }
  return { seen, rest: g.operands() };
}

describe('Getopt (GNU getopt_long semantics)', () => {
  it('permutes operands after options', () => {
    expect(all(['create', 'x.img', '1M', '-f', 'qcow2'], ':F:b:f:ho:qu')).toEqual({ seen: ['f=qcow2'], rest: ['x.img', '1M'] });
  });
  it('takes attached and separate arguments, and clusters', () => {
    expect(all(['c', '-fqcow2', '-qu', '-o', 'a=b', 'f'], ':F:b:f:ho:qu')).toEqual({ seen: ['f=qcow2', 'q', 'u', 'o=a=b'], rest: ['f'] });
  });
  it('stops at -- and keeps "-" as an operand', () => {
    expect(all(['c', 'a', '--', '-5M', '-'], ':f:')).toEqual({ seen: [], rest: ['a', '-5M', '-'] });
  });
  it('quotes argv[optind-1] like qemu-img: the word before an unknown option inside a cluster', () => {
    expect(all(['create', 'x.img', '-5M'], ':F:b:f:ho:qu').seen).toEqual(["?(x.img)"]);
    expect(all(['snapshot', '-fqcow2', '-l', 's'], ':la:c:d:hqU').seen).toEqual(["?(snapshot)"]);
    expect(all(['info', '-x', 'a'], ':f:h').seen).toEqual(["?(-x)"]);
  });
  it('reports a missing argument with the option word', () => {
    expect(all(['info', '-f'], ':f:h').seen).toEqual([':(-f)']);
    expect(all(['info', '--output'], ':f:h', [{ name: 'output', hasArg: 1, val: 'o' }]).seen).toEqual([':(--output)']);
  });
  it('accepts unique prefixes of long options and --name=value', () => {
    const long = [{ name: 'output', hasArg: 1 as const, val: 'o' }, { name: 'object', hasArg: 1 as const, val: 'j' }];
    expect(all(['info', '--out=json', 'f'], ':f:h', long).seen).toEqual(['o=json']);
    expect(all(['info', '--o=json', 'f'], ':f:h', long).seen).toEqual(['?(--o=json)']);
  });
  it("with '+' stops at the first operand (qemu-img's global options)", () => {
    expect(all(['qemu-img', '-V', 'info', '-f', 'x'], '+:hVT:')).toEqual({ seen: ['V'], rest: ['info', '-f', 'x'] });
  });
});
