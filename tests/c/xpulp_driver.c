/* Prints every emulated Xpulp builtin (runtime/xpulp_emul.h) on edge and pseudo-random operands:
 * one line "<builtin> <operands...> <result>" (32-bit words in hex), checked against a Python
 * model of the CV32E40P manual semantics by tests/test_xpulp_emul.py. Runs on the host and on
 * rv32 (QEMU). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xpulp_emul.h"

static uint32_t state = 12345u;

static uint32_t next(void)
{
    state = state * 1664525u + 1013904223u;
    return state;
}

static const uint32_t edges[] = {0u, 1u, 2u, 0x7fu, 0x80u, 0xffu, 0x100u, 0x7fffffffu, 0x80000000u,
                                 0x80000001u, 0xfffffffeu, 0xffffffffu, 0x01020304u, 0xff00ff00u};
#define N_EDGES (sizeof edges / sizeof edges[0])

static uint32_t word(v4s v)
{
    uint32_t w;
    memcpy(&w, &v, 4);
    return w;
}

static v4s vec(uint32_t w)
{
    v4s v;
    memcpy(&v, &w, 4);
    return v;
}

static uint32_t operand(int i) { return i < (int)N_EDGES ? edges[i] : next(); }

int main(void)
{
    for (int i = 0; i < 200; i++) {
        uint32_t a = operand(i), b = operand((i * 7) % 200), c = next();
        printf("sdotusp4 %08lx %08lx %08lx %08lx\n", (unsigned long)a, (unsigned long)b, (unsigned long)c,
               (unsigned long)(uint32_t)__builtin_pulp_sdotusp4(vec(a), vec(b), (int32_t)c));
        int32_t bound = (int32_t)(b & 0x3ff);
        printf("clipu_r %08lx %08lx %08lx\n", (unsigned long)a, (unsigned long)(uint32_t)bound,
               (unsigned long)(uint32_t)__builtin_pulp_clipu_r((int32_t)a, bound));
        printf("clipu %08lx %08lx\n", (unsigned long)a, (unsigned long)(uint32_t)__builtin_pulp_clipu((int32_t)a, 0, 255));
        printf("fl1 %08lx %08lx\n", (unsigned long)a, (unsigned long)(uint32_t)__builtin_pulp_fl1(a));
        printf("shuffleb %08lx %08lx %08lx\n", (unsigned long)a, (unsigned long)b,
               (unsigned long)word(__builtin_pulp_shuffleb(vec(a), vec(b))));
        uint32_t size = 1u + c % 32u, off = (c >> 8) % (33u - size);
        printf("bextract %08lx %lu %lu %08lx\n", (unsigned long)a, (unsigned long)size, (unsigned long)off,
               (unsigned long)(uint32_t)__builtin_pulp_bextract(a, size, off));
        printf("bextractu %08lx %lu %lu %08lx\n", (unsigned long)a, (unsigned long)size, (unsigned long)off,
               (unsigned long)__builtin_pulp_bextractu(a, size, off));
        printf("pack4 %08lx %08lx\n", (unsigned long)a,
               (unsigned long)word(__builtin_pulp_pack4((int8_t)a, (int8_t)(a >> 8), (int8_t)(a >> 16),
                                                        (int8_t)(a >> 24))));
        printf("maxu4 %08lx %08lx %08lx\n", (unsigned long)a, (unsigned long)b,
               (unsigned long)word(__builtin_pulp_maxu4(vec(a), vec(b))));
        printf("avg4 %08lx %08lx %08lx\n", (unsigned long)a, (unsigned long)b,
               (unsigned long)word(__builtin_pulp_avg4(vec(a), vec(b))));
        printf("maxsi %08lx %08lx %08lx\n", (unsigned long)a, (unsigned long)b,
               (unsigned long)(uint32_t)__builtin_pulp_maxsi((int32_t)a, (int32_t)b));
        printf("minsi %08lx %08lx %08lx\n", (unsigned long)a, (unsigned long)b,
               (unsigned long)(uint32_t)__builtin_pulp_minsi((int32_t)a, (int32_t)b));
    }
    return 0;
}
