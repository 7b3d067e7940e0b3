/* Checkpoints: public, in cgan/checkpoint.h. */
#ifndef CGAN_CHECKPOINT_H
#define CGAN_CHECKPOINT_H
#include "cgan/checkpoint.h"
#include "gan/trainer.h"
#include "io/safetensors.h"
#endif
