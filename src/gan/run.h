/* Training runs: public, in cgan/trainer.h. */
#ifndef CGAN_RUN_H
#define CGAN_RUN_H
#include "gan/trainer.h"
#endif
