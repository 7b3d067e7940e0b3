/* The host reference executor: runs a graph's nodes through their double-precision C
 * references, with the same gradient semantics as the device executor. Used to check
 * whole models (forward and backward) against the device. */
#ifndef CGAN_REFERENCE_H
#define CGAN_REFERENCE_H
#include "core/graph.h"

typedef struct cgan_refexec cgan_refexec;

/* Host copies of every tensor; parameters and state are read from the planned graph. */
cgan_status cgan_refexec_create(cgan_graph *g, cgan_refexec **out);
void cgan_refexec_destroy(cgan_refexec *r);
double *cgan_refexec_value(cgan_refexec *r, int id);
double *cgan_refexec_grad(cgan_refexec *r, int id);   /* params: accumulated, start at 0 */
void cgan_refexec_forward(cgan_refexec *r, int train, uint64_t counter);
/* seed_id >= 0: gradient 1 at that tensor; < 0: caller filled the outputs' gradients. */
void cgan_refexec_backward(cgan_refexec *r, int seed_id, unsigned what);
#endif
