/* SPDX-License-Identifier: MIT */
/*
 * cpu.c — picking the kernels' instruction set; see cpu.h.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"

static const char *const NAMES[] = {"portable", "avx2", "avx512"};

const char *cpu_path_name(cpu_path path) {
    return path >= CPU_PORTABLE && path <= CPU_AVX512 ? NAMES[path] : "unknown";
}

cpu_path cpu_path_best(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return CPU_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CPU_AVX2;
#endif
    return CPU_PORTABLE;
}

/* -1 until the first call decides; a race only makes two threads decide
 * the same thing. */
static _Atomic int active = -1;

cpu_path cpu_path_active(void) {
    int path = active;
    if (path >= 0) return (cpu_path)path;
    path = (int)cpu_path_best();
    const char *want = getenv("DIGIT_CPU");
    for (int i = CPU_PORTABLE; want && i <= CPU_AVX512; i++)
        if (!strcmp(want, NAMES[i]) && i < path) path = i;
    active = path;
    return (cpu_path)path;
}
