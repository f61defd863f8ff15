/*
 * Host-CPU oracle for integer instruction semantics: executes one instruction
 * (given as bytes, 32-bit/16-bit/8-bit register forms that encode the same in
 * 64-bit mode) on the host x86-64 CPU with EAX/ECX/EDX/EBX and EFLAGS loaded
 * from stdin, prints the resulting registers and flags.
 *
 * Input lines:  <hex bytes> <eax> <ecx> <edx> <ebx> <eflags>   (numbers in hex)
 * Output lines: <eax> <ecx> <edx> <ebx> <eflags>
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

struct st { uint32_t eax, ecx, edx, ebx; uint64_t fl; };

static const unsigned char pro[] = {
  0x53,                   /* push rbx */
  0x8b, 0x07,             /* mov eax,[rdi] */
  0x8b, 0x4f, 0x04,       /* mov ecx,[rdi+4] */
  0x8b, 0x57, 0x08,       /* mov edx,[rdi+8] */
  0x8b, 0x5f, 0x0c,       /* mov ebx,[rdi+12] */
  0xff, 0x77, 0x10,       /* push qword [rdi+16] */
  0x9d,                   /* popfq */
};
static const unsigned char epi[] = {
  0x9c,                   /* pushfq */
  0x8f, 0x47, 0x10,       /* pop qword [rdi+16] */
  0x89, 0x07,             /* mov [rdi],eax */
  0x89, 0x4f, 0x04,       /* mov [rdi+4],ecx */
  0x89, 0x57, 0x08,       /* mov [rdi+8],edx */
  0x89, 0x5f, 0x0c,       /* mov [rdi+12],ebx */
  0x5b,                   /* pop rbx */
  0xc3,                   /* ret */
};

int main(void) {
  unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) { perror("mmap"); return 1; }
  char hex[64];
  unsigned a, c, d, b, f;
  while (scanf("%63s %x %x %x %x %x", hex, &a, &c, &d, &b, &f) == 6) {
    size_t n = strlen(hex) / 2, off = 0;
    memcpy(page, pro, sizeof pro); off = sizeof pro;
    for (size_t i = 0; i < n; i++) { unsigned v; sscanf(hex + 2 * i, "%2x", &v); page[off++] = (unsigned char)v; }
    memcpy(page + off, epi, sizeof epi);
    __builtin___clear_cache((char *)page, (char *)page + 4096);
    struct st s = { a, c, d, b, f };
    ((void (*)(struct st *))page)(&s);
    printf("%x %x %x %x %x\n", s.eax, s.ecx, s.edx, s.ebx, (unsigned)(s.fl & 0xfff));
  }
  return 0;
}
