/* cgan-cl info: what a checkpoint holds, with every tensor's CRC32 checked. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define CMD "info"

static void help(void)
{
    printf("usage: cgan-cl info [--tensors] [--model] CHECKPOINT|RUNDIR\n"
           "\n"
           "Describe a checkpoint (a .safetensors file, or a run folder's latest): format,\n"
           "step, architecture (image size, the built-in family or a model file) with one\n"
           "line per layer of G and D, conditioning and classes, vocabulary, training\n"
           "settings and the parameter counts of G and D (BN running statistics, EMA and\n"
           "Adam copies not counted). Every tensor's stored CRC32 is checked; a damaged file\n"
           "is still described, the tensors that fail are named, and the exit status is 1.\n"
           "No OpenCL device is needed.\n"
           "\n"
           "  --tensors      list every tensor: name, dtype, shape, bytes, CRC32 and its check\n"
           "  --model        print only the model description (JSON, doc/model-format.md):\n"
           "                 a model file to start from (train --model FILE)\n"
           "  -c, --checkpoint PATH  the checkpoint (instead of the argument)\n");
}

static void shape_text(const cgan_st_tensor *t, char *out, size_t n)
{
    size_t u = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < t->ndim && u < n; i++)
        u += (size_t)snprintf(out + u, n - u, "%s%" PRId64, i ? ", " : "", t->shape[i]);
    if (u < n) snprintf(out + u, n - u, "]");
}

/* "none", or the size of the "vocabulary" metadata (a JSON array or object). */
static void vocabulary(const cgan_st_file *f, char *out, size_t n)
{
    const char *text = cgan_st_meta(f, "vocabulary");
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    size_t size = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
    if (size) snprintf(out, n, "%zu words", size);
    else snprintf(out, n, "none");
    json_decref(v);
}

static void print_layer(void *user, const cgan_model_layer *l)
{
    (void)user;
    char shape[64];
    snprintf(shape, sizeof shape, "[%d,%d,%d]", l->out.c, l->out.h, l->out.w);
    printf("  %s %3d  %-16s %-15s %-16s %10zu\n", l->net, l->index, l->name, l->type, shape, l->params);
}

/* The model description, one layer per line. */
static int print_model(cgan_gen *g)
{
    char *text = cgan_model_json(&cgan_gen_cfg(g)->model);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!json_is_object(o)) {
        json_decref(o);
        cli_error(CMD, "the stored model description is not a JSON object");
        return CLI_EXIT_FAIL;
    }
    /* 9 significant digits: every value is read as a float, and floats round-trip */
    const size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9);
    const char *key;
    json_t *v;
    size_t left = json_object_size(o);
    printf("{\n");
    json_object_foreach(o, key, v) {
        const char *sep = --left ? "," : "";
        printf("  \"%s\": ", key);
        if (json_is_array(v)) {
            printf("[\n");
            for (size_t i = 0; i < json_array_size(v); i++) {
                char *l = json_dumps(json_array_get(v, i), flags);
                printf("    %s%s\n", l ? l : "null", i + 1 < json_array_size(v) ? "," : "");
                free(l);
            }
            printf("  ]%s\n", sep);
        } else {
            char *s = json_dumps(v, flags);
            printf("%s%s\n", s ? s : "null", sep);
            free(s);
        }
    }
    printf("}\n");
    json_decref(o);
    return CLI_EXIT_OK;
}

static void describe(cgan_gen *g)
{
    const cgan_st_file *f = cgan_gen_file(g);
    const cgan_train_cfg *c = cgan_gen_cfg(g);
    const cgan_model_cfg *m = &c->model;
    const char *step = cgan_st_meta(f, "step"), *du = cgan_st_meta(f, "d_updates"), *gu = cgan_st_meta(f, "g_updates");
    const int S = m->size;
    printf("checkpoint:    %s\n", cgan_gen_path(g));
    printf("format:        cgan-cl, version %s\n", cgan_st_meta(f, "format_version"));
    printf("step:          %s (D updates %s, G updates %s)\n", step ? step : "?", du ? du : "?", gu ? gu : "?");
    if (m->desc) {
        cgan_model_head h;
        cgan_ctx *pc = cgan_ctx_new();
        int ok = pc && cgan_model_parse(pc, m->desc, "model", &h) == CGAN_OK;
        cgan_ctx_destroy(pc);
        printf("architecture:  model description%s%s%s, %dx%d, nc %d, nz %d\n", ok && h.name[0] ? " \"" : "",
               ok ? h.name : "", ok && h.name[0] ? "\"" : "", S, S, m->nc, m->nz);
    } else {
        printf("architecture:  %s (built-in DCGAN family), %dx%d, nc %d, nz %d, ngf %d, ndf %d\n",
               cgan_model_family_name(S), S, S, m->nc, m->nz, m->ngf, m->ndf);
    }
    printf("conditioning:  %s\n", cgan_cond_name(m->cond));
    int nc = cgan_gen_num_classes(g);
    char *const *cls = cgan_gen_classes(g);
    if (cgan_gen_is_text(g)) printf("classes:       none (a text model: prompts go through its text encoder)\n");
    else printf("classes:       %d\n", nc);
    for (int i = 0; i < nc; i++) printf("  %3d  %s\n", i, cls[i]);
    const char *const *al = cgan_gen_aliases(g);
    for (int i = 0; al[i]; i += 2) printf("  alias \"%s\" -> %s\n", al[i], al[i + 1]);
    char voc[64];
    vocabulary(f, voc, sizeof voc);
    if (cgan_gen_is_text(g)) printf("vocabulary:    %d words (text encoder: mean of word embeddings, linear)\n",
                                    cgan_gen_vocab_size(g));
    else printf("vocabulary:    %s\n", voc);
    printf("training:      loss %s, lr G %g D %g, betas %g %g, d_steps %d, ema %g, batch %d, seed %" PRIu64
           ", diffaug %s\n",
           cgan_loss_name(c->loss), (double)c->lr_g, (double)c->lr_d, (double)c->beta1, (double)c->beta2, c->d_steps,
           (double)c->ema, m->batch, c->seed, m->diffaug ? "on" : "off");
    printf("weights:       %s\n", cgan_gen_has_ema(g) ? "raw and EMA (generate uses the EMA unless --raw)" : "raw (no EMA)");
    printf("parameters:    G %" PRId64 ", D %" PRId64 "\n", cgan_ckpt_param_count(f, "G"),
           cgan_ckpt_param_count(f, "D"));
    printf("layers:        (network, index, name, type, output [C,H,W], parameters)\n");
    cgan_ctx *lc = cgan_ctx_new();
    if (lc && cgan_model_layers(lc, m, print_layer, NULL) != CGAN_OK)
        printf("  (the model cannot be built: %s)\n", cgan_last_error(lc));
    cgan_ctx_destroy(lc);
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tensors", no_argument, 0, 't' }, { "checkpoint", required_argument, 0, 'c' },
        { "model", no_argument, 0, 'm' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    const char *ckpt = NULL;
    int tensors = 0, model = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:th", opts, NULL)) != -1) {
        switch (c) {
        case 'h': help(); return CLI_EXIT_OK;
        case 't': tensors = 1; break;
        case 'm': model = 1; break;
        case 'c': ckpt = optarg; break;
        default:
            if (optopt && optopt != '?') return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc && !ckpt) ckpt = argv[optind++];
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!ckpt) return cli_usage_error(CMD, "a checkpoint file or run folder is required");

    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx) { cli_error(NULL, "out of memory"); return CLI_EXIT_FAIL; }
    int rc = CLI_EXIT_FAIL;
    cgan_gen *g = NULL;
    /* Without the CRC checks on open, so that a damaged file is still described; every
     * tensor is checked below. */
    if (cgan_gen_open_ex(ctx, ckpt, CGAN_ST_OPEN_NO_CRC, &g) != CGAN_OK) {
        cli_error(CMD, cgan_last_error(ctx));
        goto done;
    }
    if (model) {
        rc = print_model(g);
        goto done;
    }
    const cgan_st_file *f = cgan_gen_file(g);
    const char *path = cgan_gen_path(g);
    int bad = 0, checked = 0;
    for (int i = 0; i < cgan_st_count(f); i++) {
        const cgan_st_tensor *t = cgan_st_at(f, i);
        if (t->has_crc) {
            checked++;
            bad += cgan_st_crc32(t->data, t->nbytes) != t->crc;
        }
    }
    describe(g);
    size_t bytes = 0;
    for (int i = 0; i < cgan_st_count(f); i++) bytes += cgan_st_at(f, i)->nbytes;
    printf("tensors:       %d, %zu bytes of data; CRC32 checked for %d, %d failed\n", cgan_st_count(f), bytes, checked,
           bad);
    if (tensors) {
        printf("\n%-40s %-5s %-20s %12s  %-8s %s\n", "name", "dtype", "shape", "bytes", "crc32", "check");
        for (int i = 0; i < cgan_st_count(f); i++) {
            const cgan_st_tensor *t = cgan_st_at(f, i);
            char shape[96], crc[16] = "-";
            shape_text(t, shape, sizeof shape);
            const char *check = "no crc";
            if (t->has_crc) {
                snprintf(crc, sizeof crc, "%08x", t->crc);
                check = cgan_st_crc32(t->data, t->nbytes) == t->crc ? "ok" : "MISMATCH";
            }
            printf("%-40s %-5s %-20s %12zu  %-8s %s\n", t->name, cgan_st_dtype_name(t->dtype), shape, t->nbytes, crc,
                   check);
        }
    }
    fflush(stdout);
    for (int i = 0; i < cgan_st_count(f); i++) {
        const cgan_st_tensor *t = cgan_st_at(f, i);
        if (!t->has_crc) continue;
        uint32_t got = cgan_st_crc32(t->data, t->nbytes);
        if (got != t->crc)
            fprintf(stderr, "cgan-cl: info: %s: CRC32 mismatch in tensor %s (stored %08x, data %08x)\n", path,
                    t->name, t->crc, got);
    }
    rc = bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
done:
    cgan_gen_close(g);
    cgan_ctx_destroy(ctx);
    return rc;
}
