/* Training runs: public, in cgan/trainer.h. */
#ifndef CGAN_RUN_H
#define CGAN_RUN_H
#include "gan/trainer.h"

/* N of a checkpoint named "step_<N>.safetensors" (decimal digits only), -1 for any other
 * name. */
long long cgan_rundir_ckpt_step(const char *name);
/* Delete all but the newest `keep` (>= 1) checkpoints in <rundir>/checkpoints: the files
 * step_<N>.safetensors, ordered by the number N. CGAN_E_INVALID when keep < 1. */
cgan_status cgan_run_prune(cgan_ctx *ctx, const char *rundir, int keep);

/* Take the run folder's exclusive lock (an fcntl write lock on <rundir>/.lock, held until
 * cgan_rundir_unlock): one writer per run folder. When another process holds it, the
 * error names the folder and that process's ID. *fd receives the lock's descriptor. */
cgan_status cgan_rundir_lock(cgan_ctx *ctx, const char *rundir, int *fd);
void cgan_rundir_unlock(int fd);   /* -1 is accepted */

/* What makes rundir a run already ("config", "metrics.csv", "latest" or "checkpoints"
 * when it holds a step_<N>.safetensors), NULL when it holds none of them. */
const char *cgan_rundir_existing(const char *rundir);

/* Remove the temporaries of io/atomic.c (".<name>.tmp.<pid>.<n>") left in rundir and its
 * checkpoints/ and samples/ by a writer that died; only with the lock held (no live
 * writer then). *removed receives their number. */
cgan_status cgan_rundir_clean_tmp(cgan_ctx *ctx, const char *rundir, int *removed);
#endif
