/* Counter-based random numbers (Philox4x32-10): public, in cgan/random.h. The same function
 * exists in the kernel prelude cl/_common.cl so host and device draw identical streams from
 * (seed, stream, counter). */
#ifndef CGAN_RNG_H
#define CGAN_RNG_H
#include "cgan/random.h"
#endif
