/* Runtime: devices, context, kernel builds, launches, the binary cache, error names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "core/selftest.h"
#include "ops/elementwise.h"

static const char *SAXPY =
    "__kernel void saxpy(const int n, const float a, __global const float *x,\n"
    "                    __global float *y) {\n"
    "  int i = get_global_id(0); if (i < n) y[i] = a * x[i] + y[i] + OFFSET;\n"
    "}\n";

START_TEST(test_devices_list)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_device_info *list = NULL;
    int n = 0, defaults = 0;
    TU_OK(ctx, cgan_devices_list(ctx, &list, &n));
    ck_assert_int_gt(n, 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(list[i].index, i);
        ck_assert(strlen(list[i].name) > 0);
        ck_assert(list[i].compute_units > 0);
        ck_assert(list[i].global_mem > 0);
        ck_assert(list[i].max_work_group > 0);
        ck_assert(strstr(list[i].c_version, "OpenCL C") != NULL);
        defaults += list[i].is_default;
    }
    ck_assert_int_eq(defaults, 1);
    cgan_devices_free(list);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_open_close)
{
    for (int round = 0; round < 2; round++) {
        cgan_ctx *ctx = tu_ctx();
        const cgan_device_info *d = cgan_ctx_device(ctx);
        ck_assert_ptr_nonnull(d);
        ck_assert(d->is_default);
        ck_assert_ptr_nonnull(cgan_ctx_cl_queue(ctx));
        ck_assert_ptr_nonnull(cgan_ctx_cl_context(ctx));
        cgan_ctx_destroy(ctx);
    }
    cgan_ctx_destroy(NULL); /* accepts NULL */
    /* by index and by name substring */
    cgan_ctx *ctx = cgan_ctx_new();
    TU_OK(ctx, cgan_ctx_open(ctx, "0"));
    char part[8];
    snprintf(part, sizeof part, "%.4s", cgan_ctx_device(ctx)->name);
    cgan_ctx_destroy(ctx);
    ctx = cgan_ctx_new();
    TU_OK(ctx, cgan_ctx_open(ctx, part));
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_bad_device_spec)
{
    const char *bad[] = { "99", "no-such-device-xyz", "-1" };
    for (int i = 0; i < 3; i++) {
        cgan_ctx *ctx = cgan_ctx_new();
        cgan_status st = cgan_ctx_open(ctx, bad[i]);
        ck_assert_int_eq(st, CGAN_E_NOT_FOUND);
        const char *msg = cgan_last_error(ctx);
        ck_assert_msg(strstr(msg, bad[i]) != NULL, "message does not name the value: %s", msg);
        ck_assert_msg(strstr(msg, "valid choices") != NULL && strstr(msg, "0: ") != NULL,
                      "message does not list the devices: %s", msg);
        cgan_ctx_destroy(ctx);
    }
    /* CGAN_DEVICE is used when no spec is given, and named in the error */
    setenv("CGAN_DEVICE", "no-such-device-xyz", 1);
    cgan_ctx *ctx = cgan_ctx_new();
    ck_assert_int_eq(cgan_ctx_open(ctx, NULL), CGAN_E_NOT_FOUND);
    ck_assert(strstr(cgan_last_error(ctx), "CGAN_DEVICE") != NULL);
    cgan_ctx_destroy(ctx);
    unsetenv("CGAN_DEVICE");
}
END_TEST

/* Build SAXPY with OFFSET=off and run it on random data; check every element. */
static void run_saxpy(cgan_ctx *ctx, float off, int expect_cached)
{
    const size_t n = 777;
    cgan_rng r;
    cgan_rng_init(&r, 7, (uint32_t)(off * 10));
    float *x = tu_random(&r, n, -1, 1), *y = tu_random(&r, n, -1, 1);
    float *got = malloc(n * sizeof *got);
    char opts[64];
    snprintf(opts, sizeof opts, "-DOFFSET=%.1ff", off);
    cgan_program *p;
    cgan_build_info bi;
    TU_OK(ctx, cgan_program_from_text(ctx, "saxpy_test", SAXPY, opts, &p, &bi));
    if (expect_cached >= 0) ck_assert_int_eq(bi.from_cache, expect_cached);
    cgan_kernel *k;
    TU_OK(ctx, cgan_program_kernel(ctx, p, "saxpy", &k));
    cl_mem bx = tu_upload(ctx, x, n), by = tu_upload(ctx, y, n);
    cgan_range rg = cgan_range_1d(n);
    TU_OK(ctx, cgan_launch(ctx, k, &rg, CGAN_KINT(n), CGAN_KFLOAT(2.5f), CGAN_KMEM(bx), CGAN_KMEM(by)));
    tu_download(ctx, by, got, n);
    for (size_t i = 0; i < n; i++) {
        float want = 2.5f * x[i] + y[i] + off;
        ck_assert_msg(fabsf(got[i] - want) <= 1e-5f * (1 + fabsf(want)), "element %zu: %g != %g", i,
                      got[i], want);
    }
    cgan_buffer_release(bx);
    cgan_buffer_release(by);
    free(x); free(y); free(got);
}

START_TEST(test_kernel_random)
{
    cgan_ctx *ctx = tu_ctx();
    run_saxpy(ctx, 0.0f, -1);
    /* The launch helper checks the argument count. */
    cgan_program *p;
    cgan_kernel *k;
    TU_OK(ctx, cgan_program_from_text(ctx, "saxpy_test", SAXPY, "-DOFFSET=0.0f", &p, NULL));
    TU_OK(ctx, cgan_program_kernel(ctx, p, "saxpy", &k));
    cgan_range rg = cgan_range_1d(4);
    ck_assert_int_eq(cgan_launch(ctx, k, &rg, CGAN_KINT(4)), CGAN_E_INVALID);
    ck_assert(strstr(cgan_last_error(ctx), "saxpy takes 4 arguments, 1 given") != NULL);
    /* An unknown kernel name is an OpenCL error by name. */
    ck_assert_int_eq(cgan_program_kernel(ctx, p, "nope", &k), CGAN_E_OPENCL);
    ck_assert(strstr(cgan_last_error(ctx), "CL_INVALID_KERNEL_NAME") != NULL);
    cgan_ctx_destroy(ctx);
}
END_TEST

static cgan_ctx *ctx_with_cache(const char *dir)
{
    setenv("CGAN_CACHE_DIR", dir, 1);
    return tu_ctx();
}

/* Path of the one .clbin file in dir (there must be exactly one). */
static void only_entry(const char *dir, char *out, size_t n)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls %s/*.clbin 2>/dev/null", dir);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    int count = 0;
    char line[1200];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        snprintf(out, n, "%s", line);
        count++;
    }
    pclose(f);
    ck_assert_int_eq(count, 1);
}

START_TEST(test_cache_hit_miss)
{
    char *dir = tu_tempdir("cache");
    cgan_ctx *ctx = ctx_with_cache(dir);
    run_saxpy(ctx, 1.0f, 0);
    cgan_cache_stats s = cgan_ctx_cache_stats(ctx);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_uint_eq(s.stores, 1);
    cgan_ctx_destroy(ctx);

    ctx = ctx_with_cache(dir); /* a new context has an empty in-memory table */
    run_saxpy(ctx, 1.0f, 1);
    s = cgan_ctx_cache_stats(ctx);
    ck_assert_uint_eq(s.hits, 1);
    ck_assert_uint_eq(s.misses, 0);
    /* other options: a miss */
    run_saxpy(ctx, 2.0f, 0);
    s = cgan_ctx_cache_stats(ctx);
    ck_assert_uint_eq(s.misses, 1);
    /* other source text: a miss */
    cgan_program *p;
    cgan_build_info bi;
    char *changed = malloc(strlen(SAXPY) + 32);
    sprintf(changed, "/* changed */\n%s", SAXPY);
    TU_OK(ctx, cgan_program_from_text(ctx, "saxpy_test", changed, "-DOFFSET=1.0f", &p, &bi));
    ck_assert_int_eq(bi.from_cache, 0);
    ck_assert_uint_eq(cgan_ctx_cache_stats(ctx).misses, 2);
    free(changed);
    cgan_ctx_destroy(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static void damage(const char *path, int how)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    if (how == 0) { /* truncate */
        ck_assert_int_eq(truncate(path, sb.st_size / 2), 0);
    } else if (how == 1) { /* flip a bit in the binary payload */
        FILE *f = fopen(path, "r+b");
        ck_assert_ptr_nonnull(f);
        fseek(f, sb.st_size - 10, SEEK_SET);
        int c = fgetc(f);
        fseek(f, sb.st_size - 10, SEEK_SET);
        fputc(c ^ 0x10, f);
        fclose(f);
    } else if (how == 2) { /* garbage of the same size */
        FILE *f = fopen(path, "wb");
        for (off_t i = 0; i < sb.st_size; i++) fputc((int)(i * 7 & 0xff), f);
        fclose(f);
    } else { /* a header that claims a huge binary */
        FILE *f = fopen(path, "r+b");
        fseek(f, 16, SEEK_SET);
        unsigned char big[4] = { 0xff, 0xff, 0xff, 0x7f };
        fwrite(big, 1, 4, f);
        fclose(f);
    }
}

START_TEST(test_cache_corrupt)
{
    char *dir = tu_tempdir("corrupt");
    cgan_ctx *ctx = ctx_with_cache(dir);
    run_saxpy(ctx, 3.0f, 0);
    cgan_ctx_destroy(ctx);
    char path[1200];
    only_entry(dir, path, sizeof path);
    damage(path, _i);
    ctx = ctx_with_cache(dir);
    run_saxpy(ctx, 3.0f, 0); /* rebuilt from source, result still right */
    cgan_cache_stats s = cgan_ctx_cache_stats(ctx);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.stores, 1);
    cgan_ctx_destroy(ctx);
    ctx = ctx_with_cache(dir); /* and the rewritten entry is good again */
    run_saxpy(ctx, 3.0f, 1);
    cgan_ctx_destroy(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A cache folder that cannot be written (issue 15, defect 12): building still works, and
 * the context says so once, however many programs it builds. Entries are written through
 * the atomic writer (defect 13): nothing but the entry is left in a writable folder. */
START_TEST(test_cache_unwritable)
{
    char *dir = tu_tempdir("rocache");
    char *file = tu_pathf("%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    cgan_ctx *ctx = ctx_with_cache(tu_pathf("%s/plain-file/kc", dir));
    run_saxpy(ctx, 5.0f, 0);
    run_saxpy(ctx, 6.0f, 0);
    const char *w = cgan_ctx_next_warning(ctx);
    ck_assert_msg(w && strstr(w, "kernel cache cannot be written") && strstr(w, "plain-file/kc"), "%s",
                  w ? w : "(no warning)");
    ck_assert_ptr_null(cgan_ctx_next_warning(ctx));
    ck_assert_uint_eq(cgan_ctx_cache_stats(ctx).stores, 0);
    cgan_ctx_destroy(ctx);
    /* a writable folder: one entry, no temporary file beside it */
    char *good = tu_pathf("%s/kc", dir);
    ctx = ctx_with_cache(good);
    run_saxpy(ctx, 5.0f, 0);
    ck_assert_ptr_null(cgan_ctx_next_warning(ctx));
    cgan_ctx_destroy(ctx);
    char path[1200], cmd[1400];
    only_entry(good, path, sizeof path);
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | wc -l)\" = 1", good);
    ck_assert_int_eq(system(cmd), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A FIFO in place of a cache entry (issue 15, defect 9): rebuilt, never waited on. */
START_TEST(test_cache_fifo)
{
    char *dir = tu_tempdir("fifocache");
    cgan_ctx *ctx = ctx_with_cache(dir);
    run_saxpy(ctx, 7.0f, 0);
    cgan_ctx_destroy(ctx);
    char path[1200];
    only_entry(dir, path, sizeof path);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ctx = ctx_with_cache(dir);
    run_saxpy(ctx, 7.0f, 0);
    ck_assert_uint_eq(cgan_ctx_cache_stats(ctx).rejected, 1);
    ck_assert_uint_eq(cgan_ctx_cache_stats(ctx).stores, 1);
    cgan_ctx_destroy(ctx);
    ctx = ctx_with_cache(dir); /* the entry is a file again */
    run_saxpy(ctx, 7.0f, 1);
    cgan_ctx_destroy(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A cache entry whose key is right but whose binary is another program's, as an older
 * build could leave (issue 15, defect 11): the loaded program lacks the source's kernels,
 * so it is rejected and rebuilt from the source, and the kernel is there. */
START_TEST(test_cache_stale_binary)
{
    char *dir = tu_tempdir("stalecache");
    cgan_ctx *ctx = ctx_with_cache(dir);
    static const char *other = "__kernel void other_kernel(__global float *x) { x[get_global_id(0)] += 1.0f; }\n";
    static const char *mine = "__kernel void my_kernel(__global float *x) { x[get_global_id(0)] *= 3.0f; }\n";
    cgan_program *p;
    cgan_build_info bi;
    TU_OK(ctx, cgan_program_from_text(ctx, "stale_a", other, "", &p, &bi));
    char *ka = cgan_program_cache_key(ctx, "stale_a", other, ""), *kb = cgan_program_cache_key(ctx, "stale_b", mine, "");
    ck_assert(ka && kb && strstr(kb, "my_kernel")); /* the key holds the whole source */
    unsigned char *bin = NULL;
    size_t blen = 0;
    TU_OK(ctx, cgan_cache_load(ctx, ka, &bin, &blen));
    TU_OK(ctx, cgan_cache_store(ctx, kb, bin, blen)); /* b's key, a's binary */
    free(bin);
    cgan_ctx_destroy(ctx);
    ctx = ctx_with_cache(dir);
    TU_OK(ctx, cgan_program_from_text(ctx, "stale_b", mine, "", &p, &bi));
    ck_assert_int_eq(bi.from_cache, 0);
    ck_assert_uint_eq(cgan_ctx_cache_stats(ctx).rejected, 1);
    cgan_kernel *k = NULL;
    TU_OK(ctx, cgan_program_kernel(ctx, p, "my_kernel", &k));
    cgan_ctx_destroy(ctx);
    ctx = ctx_with_cache(dir); /* the rebuilt entry is good */
    TU_OK(ctx, cgan_program_from_text(ctx, "stale_b", mine, "", &p, &bi));
    ck_assert_int_eq(bi.from_cache, 1);
    cgan_ctx_destroy(ctx);
    free(ka);
    free(kb);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_cache_disabled)
{
    char *dir = tu_tempdir("nocache");
    setenv("CGAN_CACHE_DISABLE", "1", 1);
    cgan_ctx *ctx = ctx_with_cache(dir);
    run_saxpy(ctx, 4.0f, 0);
    cgan_cache_stats s = cgan_ctx_cache_stats(ctx);
    ck_assert_uint_eq(s.stores + s.hits + s.misses, 0);
    cgan_ctx_destroy(ctx);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", dir);
    ck_assert_int_eq(system(cmd), 0);
    unsetenv("CGAN_CACHE_DISABLE");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_build_error_log)
{
    cgan_ctx *ctx = tu_ctx();
    const char *bad = "__kernel void broken(__global float *x) {\n  x[0] = undeclared_thing + ;\n}\n";
    cgan_program *p = NULL;
    cgan_status st = cgan_program_from_text(ctx, "broken_test", bad, "-DFOO=1", &p, NULL);
    ck_assert_int_eq(st, CGAN_E_BUILD);
    ck_assert_ptr_null(p);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "broken_test") != NULL, "no program name: %s", msg);
    ck_assert_msg(strstr(msg, cgan_ctx_device(ctx)->name) != NULL, "no device name: %s", msg);
    ck_assert_msg(strstr(msg, "-DFOO=1") != NULL, "no options: %s", msg);
    ck_assert_msg(strstr(msg, "build log") != NULL && strstr(msg, "undeclared_thing") != NULL,
                  "no build log: %s", msg);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_error_names)
{
    for (int e = 0; e >= -19; e--)
        ck_assert_msg(strcmp(cgan_cl_error_name(e), "CL_UNKNOWN_ERROR") != 0, "code %d unnamed", e);
    for (int e = -30; e >= -72; e--)
        ck_assert_msg(strcmp(cgan_cl_error_name(e), "CL_UNKNOWN_ERROR") != 0, "code %d unnamed", e);
    ck_assert_str_eq(cgan_cl_error_name(-5), "CL_OUT_OF_RESOURCES");
    ck_assert_str_eq(cgan_cl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE");
    ck_assert_str_eq(cgan_cl_error_name(-72), "CL_MAX_SIZE_RESTRICTION_EXCEEDED");
    ck_assert_str_eq(cgan_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    ck_assert_str_eq(cgan_cl_error_name(-25), "CL_UNKNOWN_ERROR");
    for (int s = 0; s < CGAN_STATUS_COUNT; s++) {
        const char *a = cgan_status_str((cgan_status)-s);
        ck_assert(strncmp(a, "CGAN_", 5) == 0 && strcmp(a, "CGAN_E_UNKNOWN") != 0);
        for (int t = 0; t < s; t++) ck_assert_str_ne(a, cgan_status_str((cgan_status)-t));
    }
    ck_assert_str_eq(cgan_status_str((cgan_status)-CGAN_STATUS_COUNT), "CGAN_E_UNKNOWN");
}
END_TEST

START_TEST(test_kernel_dir)
{
    char *dir = tu_tempdir("kdir");
    char path[1200];
    snprintf(path, sizeof path, "%s/_common.cl", dir);
    FILE *f = fopen(path, "w");
    fputs("#define CGAN_1D_GUARD(i, n) const int i = get_global_id(0); if (i >= (n)) return\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/elementwise.cl", dir);
    f = fopen(path, "w");
    fputs("__kernel void fill(const int n, const float v, __global float *y)\n"
          "{ CGAN_1D_GUARD(i, n); y[i] = v + 100.0f; }\n"
          "__kernel void fill_range(const int n, const int first, const float v, __global float *y)\n"
          "{ CGAN_1D_GUARD(i, n); y[first + i] = v; }\n", f);
    fclose(f);
    setenv("CGAN_KERNEL_DIR", dir, 1);
    cgan_ctx *ctx = tu_ctx();
    cl_mem m = tu_poisoned(ctx, 5);
    TU_OK(ctx, cgan_fill(ctx, 5, 1.0f, m));
    float h[5];
    tu_download(ctx, m, h, 5);
    for (int i = 0; i < 5; i++) ck_assert_float_eq(h[i], 101.0f);
    cgan_buffer_release(m);
    /* a source missing from the folder is an error naming the path */
    cgan_kernel *k;
    ck_assert_int_eq(cgan_kernel_get(ctx, "nonexistent", NULL, "x", &k), CGAN_E_NOT_FOUND);
    ck_assert(strstr(cgan_last_error(ctx), "nonexistent.cl") != NULL);
    cgan_ctx_destroy(ctx);
    unsetenv("CGAN_KERNEL_DIR");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_every_program_builds)
{
    cgan_ctx *ctx = tu_ctx();
    int n = 0;
    for (const char *const *name = cgan_source_names(); *name; name++, n++) {
        cgan_program *p;
        TU_OK(ctx, cgan_program_get(ctx, *name, NULL, &p, NULL));
    }
    ck_assert_int_gt(n, 0);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_selfchecks)
{
    cgan_ctx *ctx = tu_ctx();
    for (int i = 0; i < cgan_check_count(); i++) {
        const cgan_check *c = cgan_check_at(i);
        cgan_check_result r;
        cgan_status st = c->run(ctx, &r);
        ck_assert_msg(st == CGAN_OK || st == CGAN_E_UNSUPPORTED, "%s: %s", c->name, cgan_last_error(ctx));
    }
    cgan_ctx_destroy(ctx);
}
END_TEST

/* CGAN_MAX_ALLOC caps what the context's buffers hold together, not each buffer: a buffer
 * that fits alone is refused while others hold the rest, the message naming it, its size
 * and what is held; released buffers leave the count (their destructor callbacks). */
START_TEST(test_max_alloc_total)
{
    cgan_ctx *ctx = tu_ctx();
    const size_t base = cgan_mem_live(ctx);
    ctx->profile.max_alloc = base + (1u << 20);
    cl_mem a = NULL, b = NULL, c = NULL;
    TU_OK(ctx, cgan_buffer_create(ctx, 600000, "first", &a));
    ck_assert_uint_eq(cgan_mem_live(ctx), base + 600000);
    ck_assert_int_eq(cgan_buffer_create(ctx, 600000, "second", &b), CGAN_E_NOMEM);
    ck_assert_ptr_null(b);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "buffer 'second'") && strstr(msg, "600000 bytes") &&
                  strstr(msg, "CGAN_MAX_ALLOC=") && strstr(msg, "holds already"), "%s", msg);
    TU_OK(ctx, cgan_buffer_create(ctx, 400000, "third", &c));
    cgan_buffer_release(a);
    TU_OK(ctx, cgan_finish(ctx));
    ck_assert_uint_eq(cgan_mem_live(ctx), base + 400000);
    TU_OK(ctx, cgan_buffer_create(ctx, 600000, "second", &b));
    cgan_buffer_release(b);
    cgan_buffer_release(c);
    TU_OK(ctx, cgan_finish(ctx));
    ck_assert_uint_eq(cgan_mem_live(ctx), base);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("devices");
    tcase_add_test(tc, test_devices_list);
    tcase_add_test(tc, test_open_close);
    tcase_add_test(tc, test_bad_device_spec);
    tcase_add_test(tc, test_max_alloc_total);
    suite_add_tcase(s, tc);
    tc = tcase_create("kernels");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_kernel_random);
    tcase_add_test(tc, test_build_error_log);
    tcase_add_test(tc, test_kernel_dir);
    tcase_add_test(tc, test_every_program_builds);
    tcase_add_test(tc, test_selfchecks);
    suite_add_tcase(s, tc);
    tc = tcase_create("cache");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_cache_hit_miss);
    tcase_add_loop_test(tc, test_cache_corrupt, 0, 4);
    tcase_add_test(tc, test_cache_disabled);
    tcase_add_test(tc, test_cache_unwritable);
    tcase_add_test(tc, test_cache_fifo);
    tcase_add_test(tc, test_cache_stale_binary);
    suite_add_tcase(s, tc);
    tc = tcase_create("names");
    tcase_add_test(tc, test_error_names);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
