/* cgan/cgan.h: the whole public API of libcgan (pkg-config cgan). Each header documents its
 * own part, top to bottom; doc/api.md is the guided tour.
 *
 *   cgan/version.h     CGAN_VERSION_*, CGAN_API
 *   cgan/context.h     status codes, errors, contexts, devices, the device profile
 *   cgan/random.h      the counter-based random numbers (Philox) of noise and shuffles
 *   cgan/tensor.h      shapes and device tensors
 *   cgan/graph.h       graphs built by calls (every op), the executor (forward, backward)
 *   cgan/optim.h       Adam and EMA over a graph's parameters
 *   cgan/model.h       the GAN models: the DCGAN family at any size, model description files
 *   cgan/data.h        datasets (image folders, IDX) and batch loaders
 *   cgan/trainer.h     the GAN trainer: a step, and whole runs with progress callbacks
 *   cgan/checkpoint.h  checkpoints: save, load, inspect, partial load
 *   cgan/generate.h    samplers and generation jobs (class, prompt, seed; memory or PNG)
 *   cgan/eval.h        evaluation: the feature network, FID, KID, precision/recall
 *   cgan/check.h       numerical self-checks and kernel builds
 *   cgan/tools.h       benchmarking and tuning: GEMM calls and providers, the tuning table,
 *                      kernel launch timing, node descriptions
 *   cgan/cgan_cl.h     OpenCL interop (not included here: it needs the OpenCL headers) */
#ifndef CGAN_API_CGAN_H
#define CGAN_API_CGAN_H
#include "cgan/version.h"
#include "cgan/context.h"
#include "cgan/random.h"
#include "cgan/tensor.h"
#include "cgan/graph.h"
#include "cgan/optim.h"
#include "cgan/model.h"
#include "cgan/data.h"
#include "cgan/trainer.h"
#include "cgan/checkpoint.h"
#include "cgan/generate.h"
#include "cgan/eval.h"
#include "cgan/check.h"
#include "cgan/tools.h"
#include "cgan/dist.h"
#endif /* CGAN_API_CGAN_H */
