/** JSON as QEMU pretty-prints it: 4-space indent, `"key": value`, empty containers `[]`/`{}`. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, null, 4);
}
