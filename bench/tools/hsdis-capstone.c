/*
 * A minimal HotSpot disassembler plugin (the decode_instructions_virtual entry point that JDK 25's
 * -XX:+PrintAssembly looks for in hsdis-amd64.so) on top of Debian's Capstone, for reading what C2 made of a
 * kernel. Debian's own libhsdis0-fcml only exports the older entry point. Not part of the build:
 *
 *   cd /tmp && apt-get download libcapstone4 libcapstone-dev && for f in libcapstone*.deb; do dpkg -x $f cs; done
 *   gcc -shared -fPIC -O2 -I/tmp/cs/usr/include -o /tmp/hsdis/hsdis-amd64.so bench/tools/hsdis-capstone.c \
 *       /tmp/cs/usr/lib/x86_64-linux-gnu/libcapstone.so.4 -Wl,-rpath,/tmp/cs/usr/lib/x86_64-linux-gnu
 *   LD_LIBRARY_PATH=/tmp/hsdis java -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,*VectorKernels*::rowsTile ...
 */
#include <stdint.h>
#include <stdio.h>
#include <capstone/capstone.h>
typedef void* (*ev_t)(void*, const char*, void*);
typedef int (*pf_t)(void*, const char*, ...);
static void* nullev(void* s, const char* e, void* a) { return NULL; }
void* decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char* buffer, uintptr_t length,
    ev_t ev, void* es, pf_t pf, void* ps, const char* options, int newline) {
  csh h; cs_insn* insn;
  if (!pf) { pf = (pf_t) fprintf; if (!ps) ps = stdout; }
  if (!ev) ev = nullev;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) return NULL;
  cs_option(h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
  cs_option(h, CS_OPT_SKIPDATA, CS_OPT_ON);
  size_t n = cs_disasm(h, buffer, length, (uintptr_t) buffer, 0, &insn);
  for (size_t j = 0; j < n; j++) {
    ev(es, "insn", (void*) insn[j].address);
    pf(ps, "%s\t%s", insn[j].mnemonic, insn[j].op_str);
    ev(es, "/insn", (void*) (insn[j].address + insn[j].size));
    if (newline) pf(ps, "\n");
  }
  if (n) cs_free(insn, n);
  cs_close(&h);
  return NULL;
}
