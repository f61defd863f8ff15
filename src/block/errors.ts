/**
 * Errors of the block layer. The message of a BlockError is exactly the text
 * qemu-img prints after its `qemu-img: ` prefix, so callers print it as is.
 */
export class BlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockError';
  }
}

/** Text of a Node.js system error as QEMU prints it (strerror wording). */
export function errnoText(e: unknown): string {
  const code = (e as { code?: string } | null)?.code;
  switch (code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'EPERM': return 'Operation not permitted';
    case 'EISDIR': return 'Is a directory';
    case 'ENOTDIR': return 'Not a directory';
    case 'EROFS': return 'Read-only file system';
    case 'ENOSPC': return 'No space left on device';
    case 'EFBIG': return 'File too large';
    case 'EINVAL': return 'Invalid argument';
    case 'EIO': return 'Input/output error';
    case 'EEXIST': return 'File exists';
    case 'ENAMETOOLONG': return 'File name too long';
    case 'ELOOP': return 'Too many levels of symbolic links';
    case 'EMFILE': return 'Too many open files';
    default: return e instanceof Error ? e.message : String(e);
  }
}

/** Where the block layer reports non-fatal events (qemu's error_report); the tools may replace it. */
let warnHandler: (msg: string) => void = (msg) => {
  process.stderr.write(`${msg}\n`);
};

export function setBlockWarningHandler(fn: (msg: string) => void): void {
  warnHandler = fn;
}

export function blockWarning(msg: string): void {
  warnHandler(msg);
}
