/* The op check harness: run one op on the device and through its double-precision
 * reference on the same random data, forward and backward, and check the reference
 * backward by central finite differences. Used by the tests and by `cgan-cl selftest`. */
#ifndef CGAN_OPCHECK_H
#define CGAN_OPCHECK_H
#include "core/graph.h"
#include "core/selftest.h"

typedef struct cgan_opcheck_case {
    const char *label;   /* for messages */
    int train;           /* run in training mode */
    double tol_fwd;      /* device vs reference, normalised max error (see cgan_max_rel_err) */
    double tol_bwd;      /* same, for every input and parameter gradient */
    double tol_fd;       /* reference backward vs finite differences; 0 skips the FD check */
    uint64_t seed;       /* data seed */
} cgan_opcheck_case;

typedef struct cgan_opcheck_result {
    double err_fwd, err_bwd, err_fd, err_state;
} cgan_opcheck_result;

/* g must hold exactly the op under test as its LAST node; every tensor that node reads is
 * an input of g (cgan_graph_input / cgan_graph_input_labels) or its own parameter/state.
 * The harness:
 *  - fills inputs with U(-1,1) (labels with random classes), parameters with their
 *    initialisation plus U(-0.5,0.5) noise, state (running stats) with random values
 *    (variances positive);
 *  - forward on the device with the output poisoned with NaN first, against the reference;
 *    in train mode also the updated state and aux;
 *  - backward with a random dout: input gradients poisoned and written with beta 0, then
 *    again over random values with beta 1; parameter gradients start random and are
 *    accumulated; all against the reference;
 *  - finite differences of sum(out * dout) on up to 48 elements of every input and
 *    parameter that has a gradient, against the reference backward.
 * Returns CGAN_OK, or CGAN_E_NUMERIC with a message naming the op, the tensor and the
 * error when a tolerance is exceeded. */
cgan_status cgan_opcheck(cgan_ctx *ctx, cgan_graph *g, const cgan_opcheck_case *c,
                         cgan_opcheck_result *r);

/* For self-checks: run c on g (which is destroyed) and put the result in *res. With
 * worst != NULL several cases share res: it keeps the case worst relative to its
 * tolerance, *worst being that ratio so far. A graph that failed to build reports its error. */
cgan_status cgan_opcheck_graph(cgan_ctx *ctx, cgan_graph *g, const cgan_opcheck_case *c,
                               cgan_check_result *res, double *worst);

/* Fold an opcheck result into a selftest result (worst error, tolerance). */
void cgan_opcheck_to_check(const cgan_opcheck_case *c, const cgan_opcheck_result *r,
                           cgan_check_result *out);
#endif
