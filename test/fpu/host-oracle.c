/*
 * Host x87 oracle for the FPU tests. Reads one case per line from stdin:
 *   CODE STATE MEM EFLAGS
 * CODE   = hex bytes of one x87 instruction (memory operand encoded as [rsi], mod=00 rm=110)
 * STATE  = 108-byte FSAVE image (32-bit protected layout) loaded with FRSTOR
 * MEM    = up to 512 bytes of memory at [rsi] (as many are printed back)
 * EFLAGS = hex value loaded with POPFQ before the instruction
 * and prints the state after the instruction (FNSAVE image), the memory and EFLAGS.
 * The instruction runs in a stub: frstor [rdi]; push [rdx]; popfq; INSN; pushfq;
 * pop [rdx]; fnsave [rdi]; ret -- FNSAVE does not wait, so unmasked exceptions
 * never trap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parsehex(const char *s, uint8_t *out, int max) {
  int n = 0;
  while (s[0] && s[1] && hexval(s[0]) >= 0 && hexval(s[1]) >= 0 && n < max) {
    out[n++] = (uint8_t)(hexval(s[0]) * 16 + hexval(s[1]));
    s += 2;
  }
  return n;
}

static void onfpe(int sig) {
  (void)sig;
  static const char msg[] = "SIGFPE\n";
  write(1, msg, sizeof msg - 1);
  _exit(3);
}

int main(void) {
  signal(SIGFPE, onfpe);
  uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 2; }
  static char line[8192];
  static uint8_t state[112] __attribute__((aligned(16)));
  static uint8_t mem[512] __attribute__((aligned(16)));
  uint64_t flags;
  while (fgets(line, sizeof line, stdin)) {
    char *tok[4];
    int nt = 0;
    char *p = strtok(line, " \n");
    while (p && nt < 4) { tok[nt++] = p; p = strtok(NULL, " \n"); }
    if (nt < 4) continue;
    uint8_t insn[64];
    int ni = parsehex(tok[0], insn, 64);
    memset(state, 0, sizeof state);
    memset(mem, 0, sizeof mem);
    parsehex(tok[1], state, 108);
    int nm = parsehex(tok[2], mem, 512);
    flags = strtoull(tok[3], NULL, 16);
    int k = 0;
    code[k++] = 0xdd; code[k++] = 0x27;            /* frstor [rdi] */
    code[k++] = 0xff; code[k++] = 0x32;            /* push qword [rdx] */
    code[k++] = 0x9d;                              /* popfq */
    memcpy(code + k, insn, ni); k += ni;
    code[k++] = 0x9c;                              /* pushfq */
    code[k++] = 0x8f; code[k++] = 0x02;            /* pop qword [rdx] */
    code[k++] = 0xdd; code[k++] = 0x37;            /* fnsave [rdi] */
    code[k++] = 0xc3;                              /* ret */
    __builtin___clear_cache((char *)code, (char *)code + k);
    void (*fn)(void *, void *, void *) = (void (*)(void *, void *, void *))code;
    fn(state, mem, &flags);
    for (int i = 0; i < 108; i++) printf("%02x", state[i]);
    putchar(' ');
    for (int i = 0; i < nm; i++) printf("%02x", mem[i]);
    printf(" %llx\n", (unsigned long long)flags);
  }
  return 0;
}
