/* tools/clcount (the OpenCL call counter loaded with LD_PRELOAD) and `cgan-bench step
 * --count`. The counter is checked exactly: this program starts itself again as a probe
 * under LD_PRELOAD=clcount.so, makes a known set of OpenCL calls (some from four threads at
 * once, and some through CLBlast), and reports what the counter saw. Then the claim the
 * counter exists for: after the first training step, a step of seed32 creates no OpenCL
 * object and waits for the device only when the losses are read (--log-every), in the
 * default (CPU) profile and in the GPU profile (CGAN_DEVICE_CLASS=gpu).
 * The library is $CGAN_CLCOUNT, else .libs/clcount.so beside $CGAN_BENCH. */
#include <clblast_c.h>
#include <dlfcn.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "../tools/clcount/clcount.h"

static char *out_buf, *err_buf; /* of the last run */

static const char *const field_names[] = {
#define NAME_(name, group, what) #name,
    CLCOUNT_FIELDS(NAME_)
#undef NAME_
};
#define N_FIELDS (sizeof field_names / sizeof field_names[0])

static const char *clcount_path(void)
{
    static char path[2048];
    const char *env = getenv("CGAN_CLCOUNT");
    if (env && *env) return env;
    const char *bench = getenv("CGAN_BENCH");
    ck_assert_msg(bench != NULL, "CGAN_BENCH is not set");
    snprintf(path, sizeof path, "%s", bench);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
             ".libs/clcount.so");
    ck_assert_msg(access(path, R_OK) == 0, "%s not found: build it (make) first", path);
    return path;
}

/* Run exe with argv (NULL-terminated; argv[0] is exe) in this environment, less the
 * variables named in drop, plus the "NAME=value" settings in set. stdout and stderr land
 * in out_buf / err_buf. Returns the exit status. */
static int run(const char *exe, const char *const *argv, const char *const *drop,
               const char *const *set)
{
    free(out_buf);
    free(err_buf);
    out_buf = err_buf = NULL;
    return tu_spawn("clcount-run", exe, argv, set, drop, &out_buf, &err_buf);
}

/* ---- the probe (this program, started again under LD_PRELOAD) -------------------------- */
static const char probe_src[] =
    "__kernel void twice(__global float *x) { size_t i = get_global_id(0); x[i] *= 2.0f; }\n";

static clcount_snapshot_fn snap;
static cl_command_queue probe_queue;

static void *flusher(void *arg)
{
    (void)arg;
    for (int i = 0; i < 500; i++) clFlush(probe_queue);
    return NULL;
}

static void print_diff(const struct clcount_counts *a, const struct clcount_counts *b)
{
    const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
    printf("{");
    for (size_t i = 0; i < N_FIELDS; i++)
        printf("%s\"%s\":%llu", i ? "," : "", field_names[i], (unsigned long long)(y[i] - x[i]));
    printf("}\n");
}

#define PROBE_OK(call)                                                      \
    do {                                                                    \
        cl_int e_ = (call);                                                 \
        if (e_ != CL_SUCCESS) {                                             \
            fprintf(stderr, "probe: %s -> %s\n", #call, cgan_cl_error_name(e_)); \
            return 1;                                                       \
        }                                                                   \
    } while (0)

/* Prints two lines of JSON: the counts of a known sequence of calls, then of one CLBlast
 * SGEMM (with a clFinish). */
static int probe(void)
{
    snap = (clcount_snapshot_fn)dlsym(RTLD_DEFAULT, "clcount_snapshot");
    if (!snap) { fprintf(stderr, "probe: clcount_snapshot not found (not preloaded?)\n"); return 3; }
    cgan_ctx *ctx = cgan_ctx_new();
    if (!ctx || cgan_ctx_open(ctx, NULL) != CGAN_OK) { fprintf(stderr, "probe: no device\n"); return 1; }
    cl_context c = ctx->context;
    cl_command_queue q = probe_queue = ctx->queue;
    float h[256] = { 0 }, back[256];
    for (int i = 0; i < 256; i++) h[i] = (float)i;
    const size_t bytes = sizeof h;
    struct clcount_counts a, b;
    cl_int e;
    snap(&a);
    cl_mem m[3];
    for (int i = 0; i < 3; i++) {                                           /* create_buffer 3 */
        m[i] = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &e);
        PROBE_OK(e);
    }
    PROBE_OK(clEnqueueWriteBuffer(q, m[0], CL_TRUE, 0, bytes, h, 0, NULL, NULL));  /* write_blocking 2 */
    PROBE_OK(clEnqueueWriteBuffer(q, m[1], CL_TRUE, 0, bytes, h, 0, NULL, NULL));
    cl_event ev;
    PROBE_OK(clEnqueueWriteBuffer(q, m[2], CL_FALSE, 0, bytes, h, 0, NULL, &ev));  /* write_async 1 */
    PROBE_OK(clWaitForEvents(1, &ev));                                              /* wait 1 */
    cl_ulong t = 0;
    PROBE_OK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t, &t, NULL)); /* not blocking */
    clReleaseEvent(ev);
    PROBE_OK(clEnqueueCopyBuffer(q, m[0], m[1], 0, 0, bytes, 0, NULL, NULL));       /* copy 1 */
    float zero = 0;
    PROBE_OK(clEnqueueFillBuffer(q, m[2], &zero, sizeof zero, 0, bytes, 0, NULL, NULL)); /* fill 1 */
    const char *src = probe_src;
    cl_program p = clCreateProgramWithSource(c, 1, &src, NULL, &e);                /* program 1 */
    PROBE_OK(e);
    PROBE_OK(clBuildProgram(p, 1, &ctx->device, "-cl-std=CL1.2", NULL, NULL));     /* build 1 */
    cl_kernel k = clCreateKernel(p, "twice", &e);                                   /* kernel 1 */
    PROBE_OK(e);
    PROBE_OK(clSetKernelArg(k, 0, sizeof(cl_mem), &m[0]));                          /* set arg 1 */
    size_t n = 256;
    for (int i = 0; i < 2; i++)                                                     /* launch 2 */
        PROBE_OK(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, NULL));
    PROBE_OK(clFlush(q));                                                           /* flush 1 */
    PROBE_OK(clFinish(q));                                                          /* finish 2 */
    PROBE_OK(clEnqueueReadBuffer(q, m[0], CL_TRUE, 0, bytes, back, 0, NULL, NULL)); /* read_blocking 2 */
    PROBE_OK(clEnqueueReadBuffer(q, m[1], CL_TRUE, 0, bytes, back, 0, NULL, NULL));
    PROBE_OK(clEnqueueReadBuffer(q, m[2], CL_FALSE, 0, bytes, back, 0, NULL, NULL)); /* read_async 1 */
    void *mp = clEnqueueMapBuffer(q, m[1], CL_TRUE, CL_MAP_READ, 0, bytes, 0, NULL, NULL, &e); /* map_blocking 1 */
    PROBE_OK(e);
    PROBE_OK(clEnqueueUnmapMemObject(q, m[1], mp, 0, NULL, NULL));                  /* unmap 1 */
    mp = clEnqueueMapBuffer(q, m[2], CL_FALSE, CL_MAP_READ, 0, bytes, 0, NULL, NULL, &e); /* map_async 1 */
    PROBE_OK(e);
    PROBE_OK(clEnqueueUnmapMemObject(q, m[2], mp, 0, NULL, NULL));                  /* unmap 2 */
    PROBE_OK(clFinish(q));
    pthread_t th[4];                                                                /* flush 2000 more */
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, flusher, NULL);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    clReleaseKernel(k);                                                             /* release_kernel 1 */
    clReleaseProgram(p);                                                            /* release_program 1 */
    snap(&b);
    print_diff(&a, &b);

    /* CLBlast calls the same exported entry points: one SGEMM (16^3) on m[0..2]. */
    snap(&a);
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                       16, 16, 16, 1.0f, m[0], 0, 16, m[1], 0, 16, 0.0f, m[2], 0, 16,
                                       &q, NULL);
    if (s != CLBlastSuccess) { fprintf(stderr, "probe: CLBlastSgemm -> %d\n", (int)s); return 1; }
    PROBE_OK(clFinish(q));
    snap(&b);
    print_diff(&a, &b);
    for (int i = 0; i < 3; i++) clReleaseMemObject(m[i]);
    cgan_ctx_destroy(ctx);
    fflush(stdout);
    return 0;
}

/* ---- helpers of the checks ------------------------------------------------------------ */
static json_t *line_json(int index)
{
    char *text = strdup(out_buf), *line = text;
    for (int i = 0; i < index && line; i++) {
        line = strchr(line, '\n');
        if (line) line++;
    }
    ck_assert_msg(line && *line, "line %d missing in: %s (stderr: %s)", index, out_buf, err_buf);
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    json_error_t je;
    json_t *r = json_loads(line, 0, &je);
    ck_assert_msg(r != NULL, "not JSON (%s): %s", je.text, line);
    free(text);
    return r;
}

static long long field(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    ck_assert_msg(json_is_integer(v), "field %s missing", name);
    return (long long)json_integer_value(v);
}

START_TEST(test_counts_exact)
{
    const char *so = clcount_path();
    char pre[2100], out[1200];
    char *dir = tu_tempdir("clcount-out");
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", so);
    snprintf(out, sizeof out, "CLCOUNT_OUT=%s/totals-%%p.json", dir);
    const char *argv[] = { "/proc/self/exe", "probe", NULL };
    const char *drop[] = { "LD_PRELOAD", NULL };
    const char *set[] = { pre, out, NULL };
    int rc = run("/proc/self/exe", argv, drop, set);
    ck_assert_msg(rc == 0, "probe exit %d: %s", rc, err_buf);
    json_t *d = line_json(0);
    static const struct { const char *name; long long want; } want[] = {
        { "create_buffer", 3 }, { "write_blocking", 2 }, { "write_async", 1 },
        { "wait_for_events", 1 }, { "get_profiling_info", 1 }, { "copy", 1 }, { "fill", 1 },
        { "create_program_source", 1 }, { "build_program", 1 }, { "create_kernel", 1 },
        { "set_kernel_arg", 1 }, { "launch", 2 }, { "flush", 1 + 2000 }, { "finish", 2 },
        { "read_blocking", 2 }, { "read_async", 1 }, { "map_blocking", 1 }, { "map_async", 1 },
        { "unmap", 2 }, { "release_kernel", 1 }, { "release_program", 1 },
    };
    for (size_t i = 0; i < N_FIELDS; i++) {
        long long w = 0;
        for (size_t j = 0; j < sizeof want / sizeof want[0]; j++)
            if (!strcmp(want[j].name, field_names[i])) w = want[j].want;
        ck_assert_msg(field(d, field_names[i]) == w, "%s: counted %lld, made %lld", field_names[i],
                      field(d, field_names[i]), w);
    }
    json_decref(d);
    /* CLBlast's calls pass through the same entry points. */
    d = line_json(1);
    ck_assert_msg(field(d, "launch") >= 1, "CLBlast's kernel launch not seen");
    ck_assert_int_eq(field(d, "finish"), 1);
    json_decref(d);
    /* CLCOUNT_OUT: the process's totals at exit, at least what the probe counted. */
    char *name = NULL;
    FILE *ls = popen(tu_pathf("ls %s", dir), "r");
    char buf[256] = "";
    ck_assert_ptr_nonnull(ls);
    if (fgets(buf, sizeof buf, ls)) name = strtok(buf, "\n");
    pclose(ls);
    ck_assert_msg(name && !strncmp(name, "totals-", 7), "no CLCOUNT_OUT file in %s", dir);
    char *text = tu_read_text(tu_pathf("%s/%s", dir, name));
    json_error_t je;
    json_t *tot = json_loads(text, 0, &je);
    ck_assert_msg(tot != NULL, "CLCOUNT_OUT not JSON (%s): %s", je.text, text);
    ck_assert_int_eq(json_object_size(tot), N_FIELDS);
    ck_assert_int_ge(field(tot, "create_context"), 1);
    ck_assert_int_ge(field(tot, "create_queue"), 1);
    ck_assert_int_ge(field(tot, "flush"), 2001);
    ck_assert_int_ge(field(tot, "release_mem"), 3);
    json_decref(tot);
    free(text);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Without the library loaded there is nothing to read. */
START_TEST(test_absent)
{
    ck_assert_ptr_null(dlsym(RTLD_DEFAULT, "clcount_snapshot"));
}
END_TEST

/* Which calls a step's counts hold, among those of group "create" or the blocking ones:
 * "clFinish x1, clWaitForEvents x2". */
static void describe(json_t *counts, int creations, char *out, size_t cap)
{
    static const char *const create[] = { "create_kernel", "create_kernels_in_program",
                                          "clone_kernel", "create_program_source",
                                          "create_program_binary", "build_program",
                                          "link_program", "create_buffer", "create_sub_buffer",
                                          "create_image", "create_queue", "create_context",
                                          "create_other", NULL };
    static const char *const block[] = { "finish", "wait_for_events", "read_blocking",
                                         "write_blocking", "map_blocking", NULL };
    const char *const *names = creations ? create : block;
    size_t l = 0;
    out[0] = '\0';
    for (int i = 0; names[i]; i++) {
        long long v = field(counts, names[i]);
        if (v && l + 64 < cap) l += (size_t)snprintf(out + l, cap - l, "%s%s x%lld", l ? ", " : "", names[i], v);
    }
}

/* `cgan-bench step --count --json` on seed32 at batch 8 for 6 steps, losses read every 3:
 * after step 1, no creation of any kind, and host waits only on logged steps (3 and 6). */
static void step_claim(const char *device_class)
{
    char dc[64];
    snprintf(dc, sizeof dc, "CGAN_DEVICE_CLASS=%s", device_class ? device_class : "");
    const char *exe = getenv("CGAN_BENCH");
    ck_assert_ptr_nonnull(exe);
    const char *argv[] = { exe, "step", "--count", "--json", "-a", "seed32", "-b", "8", "-r", "6",
                           "--log-every", "3", NULL };
    /* no LD_PRELOAD: cgan-bench starts itself again with the library */
    const char *drop[] = { "LD_PRELOAD", "CGAN_DEVICE_CLASS", "CLCOUNT_OUT", NULL };
    const char *set[] = { dc, NULL };
    int rc = run(exe, argv, drop, device_class ? set : NULL);
    ck_assert_msg(rc == 0, "cgan-bench exit %d: %s", rc, err_buf);
    json_t *r = line_json(0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "bench")), "train_count");
    ck_assert_int_eq(field(r, "steps"), 6);
    json_t *steps = json_object_get(r, "per_step");
    ck_assert_int_eq(json_array_size(steps), 6);
    char problems[4096] = "", what[512];
    size_t pl = 0;
    for (size_t i = 0; i < 6; i++) {
        json_t *s = json_array_get(steps, i), *c = json_object_get(s, "counts");
        int step = (int)field(s, "step"), logged = json_is_true(json_object_get(s, "logged"));
        ck_assert_int_eq(step, (int)i + 1);
        ck_assert_int_eq(logged, step % 3 == 0);
        ck_assert_msg(field(c, "launch") > 0, "step %d launched nothing: not counted?", step);
        if (step == 1) continue;
        if (field(s, "creations")) {
            describe(c, 1, what, sizeof what);
            pl += (size_t)snprintf(problems + pl, sizeof problems - pl, "step %d creates: %s; ", step, what);
        }
        if (!logged && field(s, "blocking")) {
            describe(c, 0, what, sizeof what);
            pl += (size_t)snprintf(problems + pl, sizeof problems - pl, "step %d (not logged) blocks: %s; ",
                                   step, what);
        }
        ck_assert(pl < sizeof problems);
    }
    ck_assert_msg(!problems[0], "%s mode: %s", device_class ? device_class : "default", problems);
    json_t *sum = json_object_get(r, "summary");
    ck_assert(json_is_true(json_object_get(sum, "ok")));
    ck_assert_int_eq(field(sum, "creations"), 0);
    json_decref(r);
}

START_TEST(test_step_cpu) { step_claim(NULL); }
END_TEST

START_TEST(test_step_gpu) { step_claim("gpu"); }
END_TEST

/* generate --count: one record, every batch reads its images (logged), and no creation
 * after the first batch. The text form carries the table and the summary. */
START_TEST(test_generate_and_text)
{
    const char *exe = getenv("CGAN_BENCH");
    const char *drop[] = { "LD_PRELOAD", "CLCOUNT_OUT", NULL };
    const char *argv[] = { exe, "generate", "--count", "--json", "-a", "seed32", "-b", "8", "-r", "3", NULL };
    int rc = run(exe, argv, drop, NULL);
    ck_assert_msg(rc == 0, "cgan-bench exit %d: %s", rc, err_buf);
    json_t *r = line_json(0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "bench")), "generate_count");
    json_t *steps = json_object_get(r, "per_step");
    ck_assert_int_eq(json_array_size(steps), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(steps, i);
        ck_assert(json_is_true(json_object_get(s, "logged")));
        ck_assert_int_gt(field(s, "launch"), 0);
        ck_assert_int_gt(field(s, "blocking"), 0); /* the images are read back */
        char what[512];
        describe(json_object_get(s, "counts"), 1, what, sizeof what);
        if (i) ck_assert_msg(field(s, "creations") == 0, "batch %zu creates: %s", i + 1, what);
    }
    json_decref(r);
    const char *argv2[] = { exe, "step", "--count", "-a", "seed32", "-b", "4", "-r", "2",
                            "--log-every", "2", NULL };
    rc = run(exe, argv2, drop, NULL);
    ck_assert_msg(rc == 0, "cgan-bench exit %d: %s", rc, err_buf);
    ck_assert_msg(strstr(out_buf, "summary, steps 2..2:") && strstr(out_buf, "launch"),
                  "no table and summary in: %s", out_buf);
}
END_TEST

/* A library that is not there is named, and --count belongs to step and generate. */
START_TEST(test_errors)
{
    const char *exe = getenv("CGAN_BENCH");
    const char *drop[] = { "LD_PRELOAD", NULL };
    const char *set[] = { "CGAN_CLCOUNT=/nonexistent/clcount.so", NULL };
    const char *argv[] = { exe, "step", "--count", "-a", "seed32", "-b", "4", "-r", "2", NULL };
    ck_assert_int_eq(run(exe, argv, drop, set), 1);
    ck_assert_msg(strstr(err_buf, "CGAN_CLCOUNT=/nonexistent/clcount.so"), "stderr: %s", err_buf);
    const char *argv2[] = { exe, "ops", "--count", NULL };
    ck_assert_int_eq(run(exe, argv2, drop, NULL), 2);
    ck_assert_msg(strstr(err_buf, "--count"), "stderr: %s", err_buf);
    const char *argv3[] = { exe, "step", "--count", "--log-every", "0", NULL };
    ck_assert_int_eq(run(exe, argv3, drop, NULL), 2);
    const char *argv4[] = { exe, "--help", NULL };
    ck_assert_int_eq(run(exe, argv4, drop, NULL), 0);
    ck_assert(strstr(out_buf, "--count") && strstr(out_buf, "--log-every"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("clcount");
    TCase *tc = tcase_create("counter");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_absent);
    tcase_add_test(tc, test_counts_exact);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("steps");
    tcase_set_timeout(st, 900);
    tcase_add_test(st, test_step_cpu);
    tcase_add_test(st, test_step_gpu);
    tcase_add_test(st, test_generate_and_text);
    suite_add_tcase(s, st);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "probe")) return probe();
    tu_require_device();
    return tu_run(suite());
}
