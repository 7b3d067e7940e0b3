/* check_serve's helpers (serve_client.c): start and stop `cgan-cl serve` ($CGAN_CLI), and
 * talk HTTP/1.1 to it over plain sockets, one connection per request. */
#ifndef CGAN_SERVE_CLIENT_H
#define CGAN_SERVE_CLIENT_H
#include <stddef.h>
#include <sys/types.h>
#include "testutil.h"

#define CKPT CGAN_TEST_DATA "/legacy-seed32-concat.safetensors"

const char *cli(void);

typedef struct server { pid_t pid; int port; int out_fd; } server;
/* Start with argv (NULL-terminated) and "NAME=value" env settings; wait for the port. */
server start_server_argv(const char *const *argv, const char *const *env);
/* cgan-cl serve -c CKPT --listen 127.0.0.1:0 and the extra arguments. */
server start_server(const char *const *extra, const char *const *env);
/* SIGTERM, then the exit status (fails the test unless it exits within 60 s). */
int stop_server(server *s);

typedef struct reply {
    int code;                 /* -1: no response */
    char *head;               /* the status line and headers */
    unsigned char *body;      /* NUL-terminated too */
    size_t len;
} reply;

void reply_free(reply *r);
/* A connected socket (60 s receive timeout), or -1. */
int connect_to(int port);
int send_all(int fd, const void *p, size_t n);
/* Read until the server closes the connection. */
reply read_reply(int fd);
/* One request with "Connection: close"; headers are "Name: value\r\n" lines or NULL; a body
 * goes as application/json. */
reply http(int port, const char *method, const char *path, const char *headers, const char *body);
reply post(int port, const char *body);
/* A response header's value (thread-local buffer), or NULL. */
const char *header(const reply *r, const char *name);
size_t unbase64(const char *s, unsigned char *out);
#endif
