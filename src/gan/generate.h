/* Generation jobs: public, in cgan/generate.h. */
#ifndef CGAN_GENERATE_H
#define CGAN_GENERATE_H
#include "cgan/generate.h"
#include "gan/trainer.h"
#include "io/safetensors.h"

/* The sampler cgan_gen_load made (NULL before). */
cgan_sampler *cgan_gen_loaded_sampler(cgan_gen *g);
#endif
