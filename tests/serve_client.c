/* The HTTP side of check_serve: a `cgan-cl serve` process, and a plain-socket client. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "serve_client.h"

extern char **environ;

const char *cli(void)
{
    const char *p = getenv("CGAN_CLI");
    ck_assert_msg(p != NULL, "CGAN_CLI is not set (run through make check)");
    return p;
}

/* ---- a server process ---------------------------------------------------------------- */

/* Start cgan-cl serve with extra args (NULL-terminated) and env settings; wait for its
 * "serving ... :PORT/" line. */
server start_server_argv(const char *const *argv, const char *const *env)
{
    size_t ne = 0;
    for (char **e = environ; *e; e++) ne++;
    const char **envp = calloc(ne + 8, sizeof *envp);
    ne = 0;
    for (int i = 0; env && env[i]; i++) envp[ne++] = env[i];
    for (char **e = environ; *e; e++) envp[ne++] = *e;
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    server s = { 0, 0, fds[0] };
    ck_assert_int_eq(posix_spawn(&s.pid, cli(), &fa, NULL, (char *const *)argv, (char *const *)envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    close(fds[1]);
    char line[1024];
    size_t n = 0;
    while (n < sizeof line - 1) {
        struct pollfd p = { s.out_fd, POLLIN, 0 };
        ck_assert_msg(poll(&p, 1, 120000) == 1, "the server did not start within 120 s");
        ssize_t r = read(s.out_fd, line + n, 1);
        ck_assert_msg(r == 1, "the server exited before listening");
        if (line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    const char *at = strstr(line, "127.0.0.1:");
    ck_assert_msg(at && sscanf(at, "127.0.0.1:%d/", &s.port) == 1, "no port in '%s'", line);
    return s;
}

server start_server(const char *const *extra, const char *const *env)
{
    const char *argv[32] = { "cgan-cl", "serve", "-c", CKPT, "--listen", "127.0.0.1:0" };
    int argc = 6;
    for (int i = 0; extra && extra[i]; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;
    return start_server_argv(argv, env);
}

/* SIGTERM, then the exit status (must exit within 60 s). */
int stop_server(server *s)
{
    kill(s->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 6000; i++) {
        pid_t w = waitpid(s->pid, &status, WNOHANG);
        if (w == s->pid) break;
        ck_assert_msg(i < 5999, "the server did not stop within 60 s");
        usleep(10000);
    }
    close(s->out_fd);
    ck_assert_msg(WIFEXITED(status), "the server died of a signal");
    return WEXITSTATUS(status);
}

/* ---- an HTTP client ------------------------------------------------------------------ */

void reply_free(reply *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = { 60, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read a whole response (the server closes after it: we send Connection: close). code -1
 * when the connection ended without one. */
reply read_reply(int fd)
{
    reply r = { -1, NULL, NULL, 0 };
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + n, cap - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
    }
    char *end = NULL;
    for (size_t i = 0; i + 3 < n; i++)
        if (!memcmp(buf + i, "\r\n\r\n", 4)) { end = buf + i; break; }
    if (end && sscanf(buf, "HTTP/1.%*d %d", &r.code) == 1) {
        r.head = strndup(buf, (size_t)(end - buf));
        r.len = n - (size_t)(end + 4 - buf);
        r.body = malloc(r.len + 1);
        memcpy(r.body, end + 4, r.len);
        r.body[r.len] = '\0';
    }
    free(buf);
    return r;
}

reply http(int port, const char *method, const char *path, const char *headers, const char *body)
{
    int fd = connect_to(port);
    if (fd < 0) return (reply){ -1, NULL, NULL, 0 };
    char req[8192];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, path,
                     headers ? headers : "");
    if (body) n += snprintf(req + n, sizeof req - (size_t)n, "Content-Type: application/json\r\nContent-Length: %zu\r\n", bl);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    reply r = { -1, NULL, NULL, 0 };
    if (send_all(fd, req, (size_t)n) == 0 && (!body || send_all(fd, body, bl) == 0)) r = read_reply(fd);
    close(fd);
    return r;
}

reply post(int port, const char *body) { return http(port, "POST", "/api/generate", NULL, body); }

const char *header(const reply *r, const char *name)
{
    static __thread char v[256];
    const char *p = r->head;
    size_t nl = strlen(name);
    while (p && (p = strchr(p, '\n'))) {
        p++;
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *s = p + nl + 1;
            while (*s == ' ') s++;
            size_t l = strcspn(s, "\r\n");
            snprintf(v, sizeof v, "%.*s", (int)l, s);
            return v;
        }
    }
    return NULL;
}

size_t unbase64(const char *s, unsigned char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(tbl, *s);
        ck_assert_msg(p != NULL, "bad base64 character '%c'", *s);
        acc = acc << 6 | (uint32_t)(p - tbl);
        if ((bits += 6) >= 8) out[n++] = (unsigned char)(acc >> (bits -= 8));
    }
    return n;
}

