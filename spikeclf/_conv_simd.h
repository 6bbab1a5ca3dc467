/* The vector loops of spikeclf/_lif_simd.h for spikeclf/_conv.pyx, which uses
 * only some of them: the others are not warned about as unused. */
#ifndef SPIKECLF_CONV_SIMD_H
#define SPIKECLF_CONV_SIMD_H

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include "_lif_simd.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif
