/* The HTTP front (see serve.h): libmicrohttpd with one thread per connection. Routes are
 * fixed strings; no part of a URL ever names a file. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "serve.h"

extern const char cgan_serve_page[]; /* web/index.html, embedded by tools/embed-web.sh */

#define CONNECTION_LIMIT 1024
#define IDLE_TIMEOUT 60          /* seconds an idle keep-alive connection stays open */
#define STOP_GRACE 5.0           /* seconds past --timeout that shutdown waits */

struct serve {
    serve_cfg cfg;
    struct MHD_Daemon *d;
    serve_metrics m;
    serve_batcher *b;
    serve_api api;
    int port, metrics_ok, api_ok;
    pthread_mutex_t mu;
    int inflight, stopping;
};

/* One request's state across libmicrohttpd's calls. */
typedef struct conn_req {
    double t0;
    char body[SERVE_MAX_BODY];
    size_t len;
    int too_big;
    int code;                  /* the status sent (for metrics) */
} conn_req;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, conn_req *q, serve_reply *r, int close_after)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, r->body, r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type ? r->type : "text/plain");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (r->code == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (r->code == 405 && r->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (close_after) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    q->code = r->code;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->code, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void text_reply(serve_reply *r, int code, const char *type, const char *text)
{
    r->code = code;
    r->type = type;
    r->body = (unsigned char *)strdup(text);
    r->len = r->body ? strlen(text) : 0;
    if (!r->body) r->code = 500;
}

/* Constant-time comparison of the bearer token. */
static int token_ok(const serve *s, struct MHD_Connection *c)
{
    if (!s->cfg.token) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
    const char *given = h + 7, *want = s->cfg.token;
    size_t lg = strlen(given), lw = strlen(want);
    unsigned char diff = (unsigned char)(lg != lw);
    for (size_t i = 0; i < lw; i++) diff |= (unsigned char)(want[i] ^ (i < lg ? given[i] : 0));
    return diff == 0;
}

static enum MHD_Result route(serve *s, struct MHD_Connection *c, conn_req *q, const char *url, const char *method)
{
    serve_reply r = { 0 };
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    int is_page = !strcmp(url, "/") || !strcmp(url, "/index.html"), is_health = !strcmp(url, "/healthz");
    int is_gen = !strcmp(url, "/api/generate"), is_info = !strcmp(url, "/api/info"), is_metrics = !strcmp(url, "/metrics");
    pthread_mutex_lock(&s->mu);
    int stopping = s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (!is_page && !is_health && !is_gen && !is_info && !is_metrics) {
        api_error(&r, 404, NULL, "no such endpoint: the endpoints are /, /api/generate, /api/info, /healthz, /metrics");
    } else if (is_gen ? !post : !get) {
        api_error(&r, 405, NULL, "%s takes %s", url, is_gen ? "POST" : "GET");
        r.allow = is_gen ? "POST" : "GET, HEAD";
    } else if (q->too_big) {
        api_error(&r, 413, "body", "the body is over %d bytes", SERVE_MAX_BODY);
    } else if (!is_page && !is_health && !token_ok(s, c)) {
        api_error(&r, 401, NULL, "a valid token is needed: send \"Authorization: Bearer TOKEN\"");
    } else if (stopping && is_gen) {
        api_error(&r, 503, NULL, "the server is shutting down");
    } else if (is_page) {
        text_reply(&r, 200, "text/html; charset=utf-8", cgan_serve_page);
    } else if (is_health) {
        text_reply(&r, 200, "text/plain", "ok\n");
    } else if (is_info) {
        api_info(&s->api, &r);
    } else if (is_metrics) {
        pthread_mutex_lock(&s->mu);
        int inflight = s->inflight;
        pthread_mutex_unlock(&s->mu);
        char *t = metrics_text(&s->m, batcher_depth(s->b), inflight);
        r.code = t ? 200 : 500;
        r.type = "text/plain; version=0.0.4";
        r.body = (unsigned char *)t;
        r.len = t ? strlen(t) : 0;
    } else { /* the body is read as JSON whatever its Content-Type says (curl -d sends a form type) */
        api_generate(&s->api, q->body, q->len, &r);
    }
    return send_reply(c, q, &r, stopping);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    serve *s = cls;
    conn_req *q = *con_cls;
    if (!q) { /* the headers are in */
        if (!(q = calloc(1, sizeof *q))) return MHD_NO;
        q->t0 = now_s();
        q->code = 500;
        *con_cls = q;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        pthread_mutex_unlock(&s->mu);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > SERVE_MAX_BODY) { /* refuse before reading it */
            q->too_big = 1;
            serve_reply r = { 0 };
            api_error(&r, 413, "body", "the body is over %d bytes", SERVE_MAX_BODY);
            return send_reply(c, q, &r, 1);
        }
        return MHD_YES;
    }
    if (*upload_size) { /* more of the body */
        if (!q->too_big && q->len + *upload_size <= SERVE_MAX_BODY) {
            memcpy(q->body + q->len, upload, *upload_size);
            q->len += *upload_size;
        } else {
            q->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return route(s, c, q, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)c;
    serve *s = cls;
    conn_req *q = *con_cls;
    if (!q) return;
    metrics_request(&s->m, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? q->code : 499, now_s() - q->t0);
    free(q);
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    s->inflight--;
    pthread_mutex_unlock(&s->mu);
}

int serve_start(const serve_cfg *cfg, serve **out, char *err, size_t errsz)
{
    *out = NULL;
    serve *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    s->cfg = *cfg;
    pthread_mutex_init(&s->mu, NULL);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | MHD_USE_POLL;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)cfg->port);
    } else if (inet_pton(AF_INET6, cfg->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)cfg->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errsz, "--listen: '%s' is not a numeric IPv4 or IPv6 address", cfg->host);
        goto fail;
    }
    if (metrics_init(&s->m)) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    s->metrics_ok = 1;
    if (batcher_start(&s->cfg, &s->m, &s->b, err, errsz)) goto fail;
    if (api_init(&s->api, &s->cfg, s->b, &s->m, err, errsz)) goto fail;
    s->api_ok = 1;
    s->d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)IDLE_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
                            MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errsz, "--listen %s:%d: cannot listen there (in use, or not an address of this machine)",
                 cfg->host, cfg->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    *out = s;
    return 0;
fail:
    if (s->api_ok) api_free(&s->api);
    batcher_stop(s->b);
    if (s->metrics_ok) metrics_free(&s->m);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return -1;
}

int serve_port(const serve *s) { return s->port; }

void serve_stop(serve *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);
    MHD_socket fd = MHD_quiesce_daemon(s->d); /* no new connections */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double until = now_s() + s->cfg.timeout + STOP_GRACE;
    for (;;) { /* requests in flight finish and their responses go out */
        pthread_mutex_lock(&s->mu);
        int n = s->inflight;
        pthread_mutex_unlock(&s->mu);
        if (n == 0 || now_s() > until) break;
        nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
    }
    MHD_stop_daemon(s->d);
    api_free(&s->api);
    batcher_stop(s->b);
    metrics_free(&s->m);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
