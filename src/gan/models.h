/* The GAN models: public, in cgan/model.h. */
#ifndef CGAN_MODELS_H
#define CGAN_MODELS_H
#include "cgan/model.h"
#include "core/graph.h"
#endif
