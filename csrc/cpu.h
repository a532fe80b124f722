/* SPDX-License-Identifier: MIT */
/*
 * cpu.h — which instruction set libdigit's own kernels use. The kernels
 * come in a portable C version and, on x86-64, AVX2+FMA-class and
 * AVX-512 versions of the same code; the best one the CPU runs is picked
 * at run time (CPUID), never at build time, so one binary serves every
 * machine.
 *
 * DIGIT_CPU=portable|avx2|avx512 in the environment asks for a path (read
 * once, at the first kernel call); a path the CPU cannot run is lowered to
 * the best one it can. Tests and the benchmark use it to cover every path
 * the machine has. The paths compute bit-identical results: the kernels
 * use no fused multiply-add, so only the vector width differs.
 */
#ifndef DIGIT_CPU_H
#define DIGIT_CPU_H

typedef enum cpu_path { CPU_PORTABLE = 0, CPU_AVX2 = 1, CPU_AVX512 = 2 } cpu_path;

/* The path in use (detected, then capped by DIGIT_CPU). */
cpu_path cpu_path_active(void);
/* The best path this CPU runs. */
cpu_path cpu_path_best(void);
/* "portable", "avx2", "avx512". */
const char *cpu_path_name(cpu_path path);

#endif
