/* check_serve: `cgan-cl serve` from the outside (issue 18), over plain sockets: every
 * endpoint, byte-identity with `cgan-cl generate`, every error case, concurrent requests
 * merged into passes (as /metrics shows), 2,000 malformed requests, a clean shutdown
 * under load, the options, and the page in headless Chromium. A slow device for the 503
 * and 504 cases comes from CGAN_SERVE_TEST_DELAY_MS (a testing aid of cmd_serve.c). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "serve_client.h"

/* The server still answers /healthz and a valid request. */
static void expect_healthy(int port)
{
    reply r = http(port, "GET", "/healthz", NULL, NULL);
    ck_assert_int_eq(r.code, 200);
    reply_free(&r);
    r = post(port, "{\"class\": \"Sneaker\", \"n\": 4, \"seed\": 7}");
    ck_assert_int_eq(r.code, 200);
    reply_free(&r);
}

static void run_generate(const char *const *args)
{
    const char *argv[24] = { "cgan-cl", "generate", "-c", CKPT };
    int n = 4;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = tu_spawn("serve-gen", cli(), argv, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0, "generate: %s", err);
    free(out);
    free(err);
}

/* ---- tests --------------------------------------------------------------------------- */

START_TEST(test_endpoints)
{
    server s = start_server(NULL, NULL);
    reply r = http(s.port, "GET", "/healthz", NULL, NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq((char *)r.body, "ok\n");
    reply_free(&r);
    r = http(s.port, "GET", "/api/info", NULL, NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_msg(strstr((char *)r.body, "\"Ankle boot\"") && strstr((char *)r.body, "\"max_n\":64") &&
                      strstr((char *)r.body, "\"width\":32") && strstr((char *)r.body, "\"device\":"),
                  "%s", r.body);
    reply_free(&r);
    r = http(s.port, "GET", "/?prompt=ankle+boots&n=8&seed=1", NULL, NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(header(&r, "Content-Type"), "text/html; charset=utf-8");
    const char *page = (char *)r.body;
    ck_assert_msg(strstr(page, "id=\"prompt\"") && strstr(page, "/api/generate"), "the page has no prompt box");
    ck_assert_msg(!strstr(page, "src=\"http") && !strstr(page, "href=\"http") && !strstr(page, "@import") &&
                      !strstr(page, "url(http"),
                  "the page loads something from outside");
    reply_free(&r);
    r = http(s.port, "HEAD", "/", NULL, NULL);
    ck_assert_int_eq(r.code, 200);
    reply_free(&r);
    /* no path from a URL to a file */
    static const char *const paths[] = { "/etc/passwd", "/../../etc/passwd", "/web/index.html", "/api", "/api/",
                                         "/%2e%2e/README.md", "/api/generate/../info" };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        r = http(s.port, "GET", paths[i], NULL, NULL);
        ck_assert_msg(r.code == 404 || r.code == 405, "%s -> %d", paths[i], r.code);
        ck_assert_msg(!strstr((char *)r.body, "root:"), "%s", paths[i]);
        reply_free(&r);
    }
    r = http(s.port, "GET", "/api/generate", NULL, NULL);
    ck_assert_int_eq(r.code, 405);
    ck_assert_str_eq(header(&r, "Allow"), "POST");
    reply_free(&r);
    r = http(s.port, "DELETE", "/healthz", NULL, NULL);
    ck_assert_int_eq(r.code, 405);
    ck_assert_str_eq(header(&r, "Allow"), "GET, HEAD");
    reply_free(&r);
    /* a grid from a prompt, and images as JSON with the class the prompt resolved to */
    r = post(s.port, "{\"prompt\": \"a pair of ankle boots\", \"n\": 3, \"seed\": 2}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(header(&r, "Content-Type"), "image/png");
    ck_assert_msg(r.len > 8 && !memcmp(r.body, "\x89PNG", 4), "not a PNG");
    reply_free(&r);
    r = post(s.port, "{\"prompt\": \"ankle boots\", \"n\": 2, \"format\": \"images\", \"weights\": \"raw\"}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_msg(strstr((char *)r.body, "\"class\":\"Ankle boot\"") && strstr((char *)r.body, "\"class_index\":9") &&
                      strstr((char *)r.body, "\"weights\":\"raw\""),
                  "%s", r.body);
    reply_free(&r);
    r = http(s.port, "GET", "/metrics", NULL, NULL);
    ck_assert_int_eq(r.code, 200);
    static const char *const names[] = { "cgan_serve_requests_total{code=\"200\"}", "cgan_serve_request_seconds_bucket",
                                         "cgan_serve_batch_images_bucket", "cgan_serve_images_total 5",
                                         "cgan_serve_queue_depth 0", "cgan_serve_requests_total{code=\"404\"}" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        ck_assert_msg(strstr((char *)r.body, names[i]), "/metrics lacks %s:\n%s", names[i], r.body);
    reply_free(&r);
    ck_assert_int_eq(stop_server(&s), 0);
}
END_TEST

/* The grid and the single images are the bytes `cgan-cl generate` writes. */
START_TEST(test_byte_identity)
{
    char *dir = tu_tempdir("serve-ident");
    char *grid = tu_pathf("%s/grid.png", dir), *imgs = tu_pathf("%s/imgs", dir);
    run_generate((const char *const[]){ "--class", "Sneaker", "--n", "4", "--seed", "7", "-o", grid, NULL });
    run_generate((const char *const[]){ "--class", "Sneaker", "--n", "4", "--seed", "7", "--raw", "--out-dir", imgs,
                                        NULL });
    server s = start_server(NULL, NULL);
    size_t len;
    unsigned char *want = tu_read_bytes(grid, &len);
    reply r = post(s.port, "{\"class\": \"Sneaker\", \"n\": 4, \"seed\": 7}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_msg(r.len == len && !memcmp(r.body, want, len), "the served grid differs from generate's");
    reply_free(&r);
    /* the same by index and by prompt */
    r = post(s.port, "{\"class\": 7, \"n\": 4, \"seed\": 7, \"weights\": \"ema\"}");
    ck_assert_msg(r.code == 200 && r.len == len && !memcmp(r.body, want, len), "class by index differs");
    reply_free(&r);
    r = post(s.port, "{\"prompt\": \"white sneakers\", \"n\": 4, \"seed\": 7}");
    ck_assert_msg(r.code == 200 && r.len == len && !memcmp(r.body, want, len), "class by prompt differs");
    reply_free(&r);
    free(want);
    r = post(s.port, "{\"class\": \"Sneaker\", \"n\": 4, \"seed\": 7, \"weights\": \"raw\", \"format\": \"images\"}");
    ck_assert_int_eq(r.code, 200);
    const char *p = strstr((char *)r.body, "\"images\":[");
    ck_assert_ptr_nonnull(p);
    p += 10;
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(*p, '"');
        const char *e = strchr(p + 1, '"');
        char *b = strndup(p + 1, (size_t)(e - p - 1));
        unsigned char *png = malloc(strlen(b));
        size_t n = unbase64(b, png);
        unsigned char *one = tu_read_bytes(tu_pathf("%s/Sneaker/%04d.png", imgs, k), &len);
        ck_assert_msg(n == len && !memcmp(png, one, len), "image %d differs from generate --out-dir's", k);
        free(one);
        free(png);
        free(b);
        p = e + 2;
    }
    reply_free(&r);
    ck_assert_int_eq(stop_server(&s), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static int has(const reply *r, const char *s) { return r->body && strstr((const char *)r->body, s); }

/* A tiny unconditional model (two training steps) for the unconditional path. */
static void make_uncond(const char *path)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = cgan_train_defaults();
    c.model.batch = 4;
    c.model.ngf = c.model.ndf = 8;
    c.model.nz = 12;
    c.model.cond = CGAN_COND_NONE;
    c.model.num_classes = 0;
    c.ema = 0;
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    float x[4 * 32 * 32];
    cgan_rng r;
    cgan_rng_init(&r, 11, 0);
    cgan_rng_fill_uniform(&r, x, 4 * 32 * 32, -1, 1);
    TU_OK(ctx, cgan_trainer_step(t, x, NULL));
    TU_OK(ctx, cgan_checkpoint_save(t, path, NULL, 0, NULL, 0));
    cgan_trainer_destroy(t);
    cgan_ctx_destroy(ctx);
}

/* An unconditional model: no prompt; the near-square grid generate writes; no EMA. */
START_TEST(test_unconditional)
{
    char *dir = tu_tempdir("serve-uncond");
    char *ck = tu_pathf("%s/u.safetensors", dir), *grid = tu_pathf("%s/u.png", dir);
    make_uncond(ck);
    const char *gen[] = { "cgan-cl", "generate", "-c", ck, "--n", "6", "--seed", "3", "-o", grid, NULL };
    char *out = NULL, *err = NULL;
    ck_assert_msg(tu_spawn("serve-gen", cli(), gen, NULL, NULL, &out, &err) == 0, "%s", err);
    free(out);
    free(err);
    const char *argv[] = { "cgan-cl", "serve", "-c", ck, "--listen", "127.0.0.1:0", NULL };
    server s = start_server_argv(argv, NULL);
    size_t len;
    unsigned char *want = tu_read_bytes(grid, &len);
    reply r = post(s.port, "{\"n\": 6, \"seed\": 3}");
    ck_assert_msg(r.code == 200 && r.len == len && !memcmp(r.body, want, len), "unconditional grid differs (%d)", r.code);
    reply_free(&r);
    free(want);
    r = post(s.port, "{\"prompt\": \"a dress\"}");
    ck_assert_msg(r.code == 400 && has(&r, "\"field\":\"prompt\"") && has(&r, "unconditional"), "%s", r.body);
    reply_free(&r);
    r = post(s.port, "{\"weights\": \"ema\"}");
    ck_assert_msg(r.code == 400 && has(&r, "\"field\":\"weights\"") && has(&r, "no EMA"), "%s", r.body);
    reply_free(&r);
    r = http(s.port, "GET", "/api/info", NULL, NULL);
    ck_assert_msg(has(&r, "\"classes\":[]") && has(&r, "\"default_weights\":\"raw\""), "%s", r.body);
    reply_free(&r);
    ck_assert_int_eq(stop_server(&s), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST


START_TEST(test_errors)
{
    server s = start_server((const char *const[]){ "--max-n", "16", NULL }, NULL);
    char big[6000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = '{';
    big[sizeof big - 2] = '}';
    struct { const char *body; int code; const char *field; const char *text; } cases[] = {
        { big, 413, "\"field\":\"body\"", "4096" },
        { "{\"class\": \"Sneaker\"", 400, "\"field\":\"body\"", "malformed JSON" },
        { "[1, 2]", 400, "\"field\":\"body\"", "JSON object" },
        { "", 400, "\"field\":\"body\"", "malformed" },
        { "{\"class\": \"Sneaker\", \"n\": \"4\"}", 400, "\"field\":\"n\"", "wrong type" },
        { "{\"class\": \"Sneaker\", \"n\": 4.5}", 400, "\"field\":\"n\"", "integer" },
        { "{\"class\": \"Sneaker\", \"seed\": -1}", 400, "\"field\":\"seed\"", "seed" },
        { "{\"class\": \"Sneaker\", \"seed\": \"7\"}", 400, "\"field\":\"seed\"", "wrong type" },
        { "{\"prompt\": 12}", 400, "\"field\":\"prompt\"", "string" },
        { "{\"class\": [1]}", 400, "\"field\":\"class\"", "wrong type" },
        { "{\"class\": \"Sneaker\", \"weights\": \"best\"}", 400, "\"field\":\"weights\"", "ema" },
        { "{\"class\": \"Sneaker\", \"format\": \"gif\"}", 400, "\"field\":\"format\"", "grid" },
        { "{\"class\": \"Sneaker\", \"colour\": 1}", 400, "\"field\":\"colour\"", "unknown field" },
        { "{\"class\": \"Sneaker\", \"prompt\": \"a bag\"}", 400, "\"field\":\"class\"", "not both" },
        { "{\"n\": 2}", 400, "\"field\":\"prompt\"", "give" },
        { "{\"prompt\": \"   \"}", 400, "\"field\":\"prompt\"", "empty prompt" },
        { "{\"class\": \"Sneaker\", \"n\": 17}", 400, "\"field\":\"n\"", "--max-n" },
        { "{\"class\": \"Sneaker\", \"n\": 0}", 400, "\"field\":\"n\"", "[1, 16]" },
        { "{\"class\": \"Sneaker\", \"n\": 1, \"n\": 2}", 400, "\"field\":\"body\"", "duplicate" },
        { "{\"prompt\": \"a submarine\"}", 422, "\"field\":\"prompt\"", "\"classes\":[\"T-shirt/top\"" },
        { "{\"class\": \"Submarine\"}", 422, "\"field\":\"class\"", "Ankle boot" },
        { "{\"class\": 10}", 422, "\"field\":\"class\"", "out of range" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        reply r = post(s.port, cases[i].body);
        ck_assert_msg(r.code == cases[i].code, "case %zu: %d, expected %d: %s", i, r.code, cases[i].code, r.body);
        ck_assert_str_eq(header(&r, "Content-Type"), "application/json");
        ck_assert_msg(has(&r, cases[i].field) && has(&r, cases[i].text) && has(&r, "\"error\":"),
                      "case %zu: %s", i, r.body);
        reply_free(&r);
    }
    /* a body sent in pieces, over the limit, without a Content-Length (chunked) */
    int fd = connect_to(s.port);
    const char *head = "POST /api/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_eq(send_all(fd, head, strlen(head)), 0);
    for (int i = 0; i < 10; i++) {
        char chunk[1100];
        int n = snprintf(chunk, sizeof chunk, "400\r\n%01024d\r\n", 0);
        ck_assert_int_eq(send_all(fd, chunk, (size_t)n), 0);
    }
    ck_assert_int_eq(send_all(fd, "0\r\n\r\n", 5), 0);
    reply r = read_reply(fd);
    close(fd);
    ck_assert_msg(r.code == 413, "chunked 10 kB: %d", r.code);
    reply_free(&r);
    r = post(s.port, "{\"class\": \"Bag\", \"n\": 16}");
    ck_assert_int_eq(r.code, 200);
    reply_free(&r);
    expect_healthy(s.port);
    ck_assert_int_eq(stop_server(&s), 0);
}
END_TEST

/* A token: 401 without it or with a wrong one; the page and /healthz stay open. */
START_TEST(test_token)
{
    server s = start_server((const char *const[]){ "--token", "s3cret", NULL }, NULL);
    reply r = post(s.port, "{\"class\": \"Bag\"}");
    ck_assert_int_eq(r.code, 401);
    ck_assert_msg(has(&r, "Bearer") && header(&r, "WWW-Authenticate"), "%s", r.body);
    reply_free(&r);
    static const char *const good = "Authorization: Bearer s3cret\r\n";
    struct { const char *method, *path, *auth, *body; int code; } cases[] = {
        { "POST", "/api/generate", "Authorization: Bearer s3cre\r\n", "{\"class\": \"Bag\"}", 401 },
        { "POST", "/api/generate", "Authorization: s3cret\r\n", "{\"class\": \"Bag\"}", 401 },
        { "GET", "/metrics", "Authorization: Bearer s3cretX\r\n", NULL, 401 },
        { "GET", "/api/info", NULL, NULL, 401 },
        { "POST", "/api/generate", good, "{\"class\": \"Bag\"}", 200 },
        { "GET", "/api/info", good, NULL, 200 },
        { "GET", "/metrics", good, NULL, 200 },
        { "GET", "/", NULL, NULL, 200 },
        { "GET", "/healthz", NULL, NULL, 200 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        r = http(s.port, cases[i].method, cases[i].path, cases[i].auth, cases[i].body);
        ck_assert_msg(r.code == cases[i].code, "case %zu: %d %s", i, r.code, r.body);
        reply_free(&r);
    }
    ck_assert_int_eq(stop_server(&s), 0);
}
END_TEST

typedef struct job { int port; char body[256]; reply r; } job;

static void *run_job(void *arg)
{
    job *j = arg;
    j->r = post(j->port, j->body);
    return NULL;
}

static void run_jobs(job *jobs, int n)
{
    pthread_t th[64];
    for (int i = 0; i < n; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
}

static long metric(const reply *r, const char *name)
{
    char line[128];
    snprintf(line, sizeof line, "\n%s", name); /* a sample line, not the HELP line */
    const char *p = strstr((const char *)r->body, line);
    ck_assert_msg(p != NULL, "no %s in /metrics", name);
    return atol(p + strlen(line));
}

/* 503 with Retry-After when the queue is full, 504 past the timeout; still serving. */
START_TEST(test_queue_full_and_timeout)
{
    server s = start_server((const char *const[]){ "--queue", "1", "--timeout", "0.4", NULL },
                            (const char *const[]){ "CGAN_SERVE_TEST_DELAY_MS=700", NULL });
    job jobs[6];
    for (int i = 0; i < 6; i++) {
        jobs[i].port = s.port;
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"class\": %d, \"n\": 2, \"seed\": %d}", i, i);
    }
    run_jobs(jobs, 6);
    int n503 = 0, n504 = 0;
    for (int i = 0; i < 6; i++) {
        reply *r = &jobs[i].r;
        ck_assert_msg(r->code == 503 || r->code == 504, "job %d: %d %s", i, r->code, r->body);
        if (r->code == 503) {
            n503++;
            ck_assert_msg(header(r, "Retry-After") && has(r, "queue is full"), "%s", r->body);
        } else {
            n504++;
            ck_assert_msg(has(r, "--timeout"), "%s", r->body);
        }
        reply_free(r);
    }
    ck_assert_msg(n503 > 0 && n504 > 0, "%d 503s and %d 504s", n503, n504);
    sleep(2); /* the abandoned pass ends */
    reply r = http(s.port, "GET", "/healthz", NULL, NULL); /* a pass takes longer than --timeout here */
    ck_assert_int_eq(r.code, 200);
    reply_free(&r);
    r = http(s.port, "GET", "/metrics", NULL, NULL);
    ck_assert_int_eq(metric(&r, "cgan_serve_queue_depth "), 0);
    ck_assert_int_eq(metric(&r, "cgan_serve_requests_total{code=\"503\"} "), n503);
    reply_free(&r);
    ck_assert_int_eq(stop_server(&s), 0);
}
END_TEST

/* 32 concurrent requests: each the bytes of the same request made alone, and some of them
 * merged into one pass. The device is slowed a little so that requests meet. */
START_TEST(test_concurrent_batched)
{
    server s = start_server(NULL, (const char *const[]){ "CGAN_SERVE_TEST_DELAY_MS=30", NULL });
    job jobs[32];
    unsigned char *alone[32];
    size_t alone_len[32];
    for (int i = 0; i < 32; i++) {
        jobs[i].port = s.port;
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"class\": %d, \"n\": %d, \"seed\": %d%s}", i % 10, 1 + i % 5,
                 100 + i, i % 3 == 0 ? ", \"weights\": \"raw\"" : "");
        reply r = post(s.port, jobs[i].body);
        ck_assert_int_eq(r.code, 200);
        alone[i] = r.body;
        alone_len[i] = r.len;
        r.body = NULL;
        reply_free(&r);
    }
    run_jobs(jobs, 32);
    for (int i = 0; i < 32; i++) {
        ck_assert_msg(jobs[i].r.code == 200, "job %d: %d", i, jobs[i].r.code);
        ck_assert_msg(jobs[i].r.len == alone_len[i] && !memcmp(jobs[i].r.body, alone[i], alone_len[i]),
                      "job %d (%s) differs when batched", i, jobs[i].body);
        reply_free(&jobs[i].r);
        free(alone[i]);
    }
    reply r = http(s.port, "GET", "/metrics", NULL, NULL);
    long merged = metric(&r, "cgan_serve_merged_batches_total ");
    long passes = metric(&r, "cgan_serve_batch_images_count ");
    ck_assert_msg(merged > 0, "no pass served more than one request:\n%s", r.body);
    ck_assert_msg(passes < 64, "%ld passes for 64 requests", passes);
    fprintf(stderr, "check_serve: 64 requests in %ld passes, %ld of them merged\n", passes, merged);
    reply_free(&r);
    ck_assert_int_eq(stop_server(&s), 0);
}
END_TEST

/* 2,000 malformed requests of many kinds; the server answers or drops each and is healthy. */
START_TEST(test_malformed_flood)
{
    server s = start_server(NULL, NULL);
    cgan_rng rng;
    cgan_rng_init(&rng, 18, 0);
    static const char *const bodies[] = { "{", "}", "null", "1e999", "{\"class\":", "{\"n\":99999999999999999999}",
                                          "{\"class\":\"\\u0000\"}", "{\"prompt\":\"\\ud800\"}", "\"x\"", "[]",
                                          "{\"class\":{}}", "{\"seed\":1.0}", "{\"format\":null}" };
    static const char *const lines[] = { "GET / HTTP/1.1\r\n", "POST /api/generate HTTP/1.1\r\n", "BREW /pot HTTP/1.1\r\n",
                                         "GET /healthz HTTP/9.9\r\n", "\x01\x02\x03\r\n", "GET " , "POST /api/generate\r\n" };
    int answered = 0;
    for (int i = 0; i < 2000; i++) {
        int fd = connect_to(s.port);
        ck_assert_msg(fd >= 0, "connection %d refused", i);
        char req[9000];
        size_t n = 0;
        uint32_t kind = cgan_rng_u32(&rng) % 5;
        if (kind == 0) { /* random bytes */
            n = 1 + cgan_rng_u32(&rng) % 600;
            for (size_t k = 0; k < n; k++) req[k] = (char)cgan_rng_u32(&rng);
        } else if (kind == 1) { /* a broken request line and headers */
            n = (size_t)snprintf(req, sizeof req, "%sHost: x\r\nContent-Length: %d\r\nX: %u\r\n\r\n",
                                 lines[cgan_rng_u32(&rng) % 7], (int)(cgan_rng_u32(&rng) % 50) - 10,
                                 cgan_rng_u32(&rng));
        } else if (kind == 2) { /* bad JSON bodies, some cut short */
            const char *b = bodies[cgan_rng_u32(&rng) % (sizeof bodies / sizeof *bodies)];
            n = (size_t)snprintf(req, sizeof req,
                                 "POST /api/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                                 strlen(b), b);
            if (cgan_rng_u32(&rng) % 4 == 0) n -= 1 + cgan_rng_u32(&rng) % (strlen(b) + 1);
        } else if (kind == 3) { /* a huge declared body, or a huge header */
            if (cgan_rng_u32(&rng) % 2)
                n = (size_t)snprintf(req, sizeof req, "POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                                      "99999999999\r\n\r\n{");
            else {
                n = (size_t)snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nX-Big: ");
                memset(req + n, 'a', 8000);
                n += 8000;
                n += (size_t)snprintf(req + n, sizeof req - n, "\r\n\r\n");
            }
        } else { /* valid JSON, wrong fields or values */
            n = (size_t)snprintf(req, sizeof req,
                                 "POST /api/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 32\r\n\r\n"
                                 "{\"n\": %11d, \"seed\": %9d}",
                                 (int)cgan_rng_u32(&rng), (int)(cgan_rng_u32(&rng) % 1000000000u));
        }
        send_all(fd, req, n);
        shutdown(fd, SHUT_WR);
        struct timeval tv = { 5, 0 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        reply r = read_reply(fd);
        if (r.code > 0) {
            answered++;
            ck_assert_msg(r.code != 200 || kind == 1 || kind == 3, "request %d (kind %u) succeeded", i, kind);
            ck_assert_msg(r.code < 500 || r.code == 505, "request %d (kind %u): %d %s", i, kind, r.code, r.body);
        }
        reply_free(&r);
        close(fd);
    }
    fprintf(stderr, "check_serve: 2000 malformed requests, %d answered with a status\n", answered);
    expect_healthy(s.port);
    ck_assert_int_eq(stop_server(&s), 0);
}
END_TEST

/* SIGTERM while requests are in flight: they are answered, and the server exits 0. */
START_TEST(test_shutdown_under_load)
{
    server s = start_server(NULL, (const char *const[]){ "CGAN_SERVE_TEST_DELAY_MS=200", NULL });
    job jobs[16];
    pthread_t th[16];
    for (int i = 0; i < 16; i++) {
        jobs[i].port = s.port;
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"class\": %d, \"n\": 8, \"seed\": %d}", i % 10, i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    }
    usleep(300000);
    ck_assert_int_eq(stop_server(&s), 0);
    int ok = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(jobs[i].r.code == 200 || jobs[i].r.code == 503 || jobs[i].r.code == -1, "job %d: %d", i,
                      jobs[i].r.code);
        ok += jobs[i].r.code == 200;
        reply_free(&jobs[i].r);
    }
    ck_assert_msg(ok >= 1, "no request in flight was finished");
    /* the port is closed now */
    ck_assert_int_lt(connect_to(s.port), 0);
}
END_TEST

START_TEST(test_options)
{
    char *out = NULL, *err = NULL;
    const char *help[] = { "cgan-cl", "serve", "--help", NULL };
    ck_assert_int_eq(tu_spawn("serve-cli", cli(), help, NULL, NULL, &out, &err), 0);
    char *man = tu_read_text(CGAN_TOP_SRC "/doc/cgan-cl.1"), *readme = tu_read_text(CGAN_TOP_SRC "/README.md");
    static const char *const flags[] = { "--checkpoint", "--listen", "--token", "--max-batch", "--max-n", "--queue",
                                         "--timeout", "--device" };
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        ck_assert_msg(strstr(out, flags[i]), "--help lacks %s", flags[i]);
        char esc[64]; /* the man page writes \-\-max\-batch */
        size_t e = 0;
        for (const char *f = flags[i]; *f; f++) {
            if (*f == '-') esc[e++] = '\\';
            esc[e++] = *f;
        }
        esc[e] = '\0';
        ck_assert_msg(strstr(man, esc), "the man page lacks %s", flags[i]);
        ck_assert_msg(strstr(readme, flags[i]), "README.md lacks %s", flags[i]);
    }
    free(man);
    free(readme);
    free(out);
    free(err);
    struct { const char *args[8]; const char *says; } bad[] = {
        { { "--listen", "0.0.0.0:8080", NULL }, "--token" },
        { { "--listen", "8080", NULL }, "--listen" },
        { { "--listen", "example.org:80", NULL }, "must be numeric" },
        { { "--listen", "127.0.0.1:99999", NULL }, "--listen port" },
        { { "--max-batch", "0", NULL }, "--max-batch" },
        { { "--max-n", "x", NULL }, "--max-n" },
        { { "--queue", "-1", NULL }, "--queue" },
        { { "--timeout", "0", NULL }, "--timeout" },
        { { "--token", "", NULL }, "--token" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *argv[16] = { "cgan-cl", "serve", "-c", CKPT };
        int n = 4;
        for (int k = 0; bad[i].args[k]; k++) argv[n++] = bad[i].args[k];
        argv[n] = NULL;
        ck_assert_int_eq(tu_spawn("serve-cli", cli(), argv, NULL, NULL, &out, &err), 2);
        ck_assert_msg(strstr(err, bad[i].says), "case %zu: %s", i, err);
        free(out);
        free(err);
    }
    const char *bench[] = { "sh", CGAN_TOP_SRC "/tools/bench-serve", "--help", NULL };
    ck_assert_int_eq(tu_spawn("serve-cli", "/bin/sh", bench, NULL, NULL, &out, &err), 0);
    ck_assert_msg(strstr(out, "--max-batch") && strstr(out, "wrk"), "%s", out);
    free(out);
    free(err);
    const char *missing[] = { "cgan-cl", "serve", "-c", "/nonexistent.safetensors", NULL };
    ck_assert_int_eq(tu_spawn("serve-cli", cli(), missing, NULL, NULL, &out, &err), 1);
    ck_assert_msg(strstr(err, "/nonexistent.safetensors"), "%s", err);
    free(out);
    free(err);
}
END_TEST

static const char *chromium(void)
{
    static const char *const names[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (access(names[i], X_OK) == 0) return names[i];
    return NULL;
}

/* The page in a real browser: linked with a prompt, it generates and shows the grid. */
/* Headless Chromium on url (its profile and HOME under dir): stdout, with --dump-dom, or
 * a screenshot into shot (420 x 900, a phone's width). */
static char *chromium_run(const char *dir, const char *url, const char *shot)
{
    char prof[1200], shotarg[1200];
    snprintf(prof, sizeof prof, "--user-data-dir=%s/profile", dir);
    snprintf(shotarg, sizeof shotarg, "--screenshot=%s", shot ? shot : "");
    const char *argv[] = { "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage", "--hide-scrollbars", prof, "--virtual-time-budget=20000",
                           "--window-size=420,900", shot ? shotarg : "--dump-dom", url, NULL };
    const char *home[] = { tu_pathf("HOME=%s", dir), NULL };
    char *out = NULL, *err = NULL;
    int rc = tu_spawn("serve-chromium", chromium(), argv, home, NULL, &out, &err);
    ck_assert_msg(rc == 0, "chromium exit %d: %s", rc, err);
    free(err);
    return out;
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++) n++;
    return n;
}

/* The page in a real browser: linked with a prompt, it generates and shows the grid, a
 * download link per image and the class; an unknown prompt lists the classes. */
START_TEST(test_browser)
{
    server s = start_server(NULL, NULL);
    char *dir = tu_tempdir("serve-browser");
    char url[128], shot[1100];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?prompt=ankle+boots&n=8&seed=1", s.port);
    char *out = chromium_run(dir, url, NULL);
    /* 8 images of 32 pixels in a row with 2-pixel borders: 8 * 34 + 2 = 274 x 36 */
    ck_assert_msg(strstr(out, "data-grid-loaded=\"274x36\""), "the grid did not load at 274x36:\n%.4000s", out);
    ck_assert_msg(strstr(out, "→ Ankle boot"), "the resolved class is not shown");
    ck_assert_msg(count(out, "download=\"Ankle_boot-seed1-") == 8, "not 8 image downloads:\n%.4000s", out);
    ck_assert_msg(strstr(out, "download=\"Ankle_boot-seed1.png\""), "no grid download");
    free(out);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?prompt=a+submarine&n=2", s.port);
    out = chromium_run(dir, url, NULL);
    ck_assert_msg(strstr(out, "unknown prompt") && strstr(out, "T-shirt/top, Trouser"),
                  "no unknown-prompt message with the classes:\n%.4000s", out);
    free(out);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?prompt=ankle+boots&n=8&seed=1", s.port);
    snprintf(shot, sizeof shot, "%s/page.png", dir);
    free(chromium_run(dir, url, shot));
    int w = 0, h = 0;
    tu_png_size(shot, &w, &h);
    ck_assert_msg(w == 420 && h == 900, "screenshot %dx%d", w, h);
    const char *keep = getenv("CGAN_SERVE_SCREENSHOT"); /* a copy to keep, e.g. doc/serve-page.png */
    if (keep) {
        size_t len;
        unsigned char *png = tu_read_bytes(shot, &len);
        FILE *f = fopen(keep, "wb");
        ck_assert_msg(f && fwrite(png, 1, len, f) == len && fclose(f) == 0, "cannot write %s", keep);
        free(png);
    }
    ck_assert_int_eq(stop_server(&s), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *su = suite_create("serve");
    TCase *tc = tcase_create("serve");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_endpoints);
    tcase_add_test(tc, test_byte_identity);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_token);
    tcase_add_test(tc, test_queue_full_and_timeout);
    tcase_add_test(tc, test_concurrent_batched);
    tcase_add_test(tc, test_malformed_flood);
    tcase_add_test(tc, test_shutdown_under_load);
    tcase_add_test(tc, test_unconditional);
    if (tu_require(chromium() != NULL, 1, "chromium (the serving page's browser test)"))
        tcase_add_test(tc, test_browser);
    suite_add_tcase(su, tc);
    return tu_run(su);
}
