/* Op builders (cgan_nn_*): each adds one node to a graph, infers and checks its shapes and
 * creates its named parameters. They are public, declared and documented in cgan/graph.h;
 * each is implemented beside its op in src/ops/<op>.c. */
#ifndef CGAN_BUILDERS_H
#define CGAN_BUILDERS_H
#include "core/graph.h"
#endif
