/*
 * The GCC-PULP (Xpulp) builtins and vector types the real PULP-NN sources use, emulated in
 * portable GNU C so that those sources build where Xpulp does not exist (x86 host, rv32imc
 * under QEMU). Written for dory-xdsl from the instruction semantics of the CV32E40P (RI5CY)
 * user manual, "Xpulp instruction set extensions"; no PULP code.
 *
 * Force-included (`-include xpulp_emul.h`) when compiling a PULP-NN checkout (src/, every .c); needs
 * GNU C vector extensions and `-flax-vector-conversions` (the sources pass v4s where v4u is
 * declared and cast vectors to int, as GCC-PULP allows).
 *
 * Arithmetic is done in uint32_t where the hardware wraps, so no C signed overflow occurs;
 * right shifts of negative values rely on GCC's arithmetic shift (documented GCC behaviour).
 */
#ifndef DORY_XPULP_EMUL_H
#define DORY_XPULP_EMUL_H

#include <stdint.h>

/* Packed SIMD types of GCC-PULP: four 8-bit lanes in one 32-bit register, lane 0 in the
 * least significant byte (the byte at the lowest address in memory). RI5CY loads and stores
 * words at any byte address (a misaligned access takes two bus cycles), and PULP-NN relies on
 * it (e.g. weight rows of odd length): the types are declared 1-byte aligned so the same
 * accesses are defined C here. */
typedef int8_t v4s __attribute__((vector_size(4), aligned(1)));
typedef uint8_t v4u __attribute__((vector_size(4), aligned(1)));

/* pv.sdotusp.b: acc + sum over lanes of unsigned(a[i]) * signed(b[i]), 32-bit wrapping. */
static inline int32_t dory_xpulp_sdotusp4(v4u a, v4s b, int32_t acc)
{
    uint32_t sum = (uint32_t)acc;
    for (int i = 0; i < 4; i++)
        sum += (uint32_t)((int32_t)a[i] * (int32_t)b[i]);
    return (int32_t)sum;
}

/* p.clipur: clip to [0, bound] with signed compares (x <= 0 -> 0, x >= bound -> bound). */
static inline int32_t dory_xpulp_clipu_r(int32_t x, int32_t bound)
{
    return x <= 0 ? 0 : x >= bound ? bound : x;
}

/* p.clipu (immediate form; the builtin names both bounds, the low one is 0 in use). */
static inline int32_t dory_xpulp_clipu(int32_t x, int32_t low, int32_t high)
{
    return x <= low ? low : x >= high ? high : x;
}

/* p.fl1: index of the most significant set bit; 32 when the operand is 0. */
static inline int32_t dory_xpulp_fl1(uint32_t x)
{
    return x == 0 ? 32 : 31 - __builtin_clz(x);
}

/* pv.shuffle.b: lane i of the result is lane (sel[i] mod 4) of a. */
static inline v4s dory_xpulp_shuffleb(v4s a, v4s sel)
{
    v4s r;
    for (int i = 0; i < 4; i++)
        r[i] = a[(uint8_t)sel[i] & 3u];
    return r;
}

/* p.extract: `size` bits of x starting at bit `off`, sign-extended (1 <= size, off + size <= 32). */
static inline int32_t dory_xpulp_bextract(int32_t x, uint32_t size, uint32_t off)
{
    uint32_t top = (uint32_t)x << (32u - off - size); /* field's MSB to bit 31 */
    return (int32_t)top >> (32u - size);
}

/* p.extractu: the same field, zero-extended. */
static inline uint32_t dory_xpulp_bextractu(uint32_t x, uint32_t size, uint32_t off)
{
    uint32_t field = x >> off;
    return size >= 32u ? field : field & ((1u << size) - 1u);
}

/* pv.pack (lo/hi byte packing as the builtin composes it): lane 0 = a ... lane 3 = d. */
static inline v4s dory_xpulp_pack4(int8_t a, int8_t b, int8_t c, int8_t d)
{
    v4s r = {a, b, c, d};
    return r;
}

/* pv.maxu.b: lane-wise unsigned maximum. */
static inline v4u dory_xpulp_maxu4(v4u a, v4u b)
{
    v4u r;
    for (int i = 0; i < 4; i++)
        r[i] = a[i] > b[i] ? a[i] : b[i];
    return r;
}

/* pv.avg.b: lane-wise (a[i] + b[i]) >> 1, the sum kept in the 8-bit lane (carry out lost),
 * shifted arithmetically. */
static inline v4s dory_xpulp_avg4(v4s a, v4s b)
{
    v4s r;
    for (int i = 0; i < 4; i++)
        r[i] = (int8_t)((int8_t)(uint8_t)((uint8_t)a[i] + (uint8_t)b[i]) >> 1);
    return r;
}

/* p.max / p.min: signed 32-bit maximum / minimum. */
static inline int32_t dory_xpulp_maxsi(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t dory_xpulp_minsi(int32_t a, int32_t b) { return a < b ? a : b; }

#define __builtin_pulp_sdotusp4(a, b, acc) dory_xpulp_sdotusp4((a), (b), (acc))
#define __builtin_pulp_clipu_r(x, bound) dory_xpulp_clipu_r((x), (bound))
#define __builtin_pulp_clipu(x, low, high) dory_xpulp_clipu((x), (low), (high))
#define __builtin_pulp_fl1(x) dory_xpulp_fl1((uint32_t)(x))
#define __builtin_pulp_shuffleb(a, sel) dory_xpulp_shuffleb((a), (sel))
#define __builtin_pulp_bextract(x, size, off) dory_xpulp_bextract((int32_t)(x), (size), (off))
#define __builtin_pulp_bextractu(x, size, off) dory_xpulp_bextractu((uint32_t)(x), (size), (off))
#define __builtin_pulp_pack4(a, b, c, d) dory_xpulp_pack4((int8_t)(a), (int8_t)(b), (int8_t)(c), (int8_t)(d))
#define __builtin_pulp_maxu4(a, b) dory_xpulp_maxu4((a), (b))
#define __builtin_pulp_avg4(a, b) dory_xpulp_avg4((a), (b))
#define __builtin_pulp_maxsi(a, b) dory_xpulp_maxsi((a), (b))
#define __builtin_pulp_minsi(a, b) dory_xpulp_minsi((a), (b))

#endif /* DORY_XPULP_EMUL_H */
