/* Samplers: public, in cgan/generate.h. */
#ifndef CGAN_SAMPLER_H
#define CGAN_SAMPLER_H
#include "cgan/generate.h"
#include "gan/trainer.h"
#include "io/safetensors.h"

/* The model the sampler runs (its batch is the sampler's). */
const cgan_model_cfg *cgan_sampler_model(const cgan_sampler *s);
#endif
