/* Samplers: public, in cgan/generate.h. */
#ifndef CGAN_SAMPLER_H
#define CGAN_SAMPLER_H
#include "cgan/generate.h"
#include "gan/trainer.h"
#include "io/safetensors.h"
#endif
