/* cgan-cl serve: a prompt box in a browser and a JSON API over one loaded generator
 * (src/serve/). This file parses options and waits for SIGINT/SIGTERM. */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "../serve/serve.h"

#define CMD "serve"

static void help(void)
{
    printf("usage: cgan-cl serve --checkpoint PATH [options]\n"
           "\n"
           "Serve a generator over HTTP: a page with a prompt box at /, and a JSON API\n"
           "(POST /api/generate, GET /api/info, /healthz, /metrics). The model is loaded\n"
           "once; concurrent requests are merged into generator passes, and each request's\n"
           "images depend on its own seed only: the grid for {\"class\": \"Sneaker\", \"n\": 4,\n"
           "\"seed\": 7} is the file 'cgan-cl generate --class Sneaker --n 4 --seed 7' writes.\n"
           "\n"
           "  -c, --checkpoint PATH  a .safetensors checkpoint or a run folder (its 'latest')\n"
           "      --listen ADDR:PORT address to listen on (default 127.0.0.1:%d; port 0: any\n"
           "                         free port). An address other than loopback needs --token\n"
           "      --token T          require \"Authorization: Bearer T\" on /api/* and /metrics\n"
           "      --max-batch N      images in one generator pass (default %d; 1 turns\n"
           "                         batching off)\n"
           "      --max-n N          images one request may ask for (default %d)\n"
           "      --queue N          requests that may wait; more get 503 (default %d)\n"
           "      --timeout S        seconds a request may wait for its images; then 504\n"
           "                         (default %g)\n"
           "  -d, --device N|NAME    OpenCL device\n"
           "\n"
           "SIGINT or SIGTERM stops accepting connections, finishes the requests in flight\n"
           "and exits 0.\n",
           SERVE_DEFAULT_PORT, SERVE_DEFAULT_MAX_BATCH, SERVE_DEFAULT_MAX_N, SERVE_DEFAULT_QUEUE,
           SERVE_DEFAULT_TIMEOUT);
}

/* cli_parse_long into an int field. */
static int parse_int(const char *opt, const char *v, long lo, long hi, int *out)
{
    long x = 0;
    if (cli_parse_long(CMD, opt, v, lo, hi, &x)) return -1;
    *out = (int)x;
    return 0;
}

/* ADDR:PORT or [V6]:PORT into host (numeric; "localhost" is 127.0.0.1) and port. */
static int parse_listen(const char *v, char *host, size_t hsz, int *port)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v)
        return cli_usage_error(CMD, "--listen '%s': expected ADDRESS:PORT, e.g. 127.0.0.1:8080", v);
    size_t hl = (size_t)(colon - v);
    const char *h = v;
    if (h[0] == '[' && colon[-1] == ']') h++, hl -= 2;
    if (hl == 0 || hl >= hsz) return cli_usage_error(CMD, "--listen '%s': bad address", v);
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!strcmp(host, "localhost")) snprintf(host, hsz, "127.0.0.1");
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
        return cli_usage_error(CMD, "--listen '%s': the address must be numeric (IPv4, or IPv6 in brackets) or "
                                    "localhost", v);
    if (parse_int("--listen port", colon + 1, 0, 65535, port)) return CLI_EXIT_USAGE;
    return 0;
}

/* 127.0.0.0/8, ::1 or ::ffff:127.x.y.z */
static int is_loopback(const char *host)
{
    unsigned char a[16];
    static const unsigned char v6_loop[16] = { [15] = 1 }, mapped[12] = { [10] = 0xff, [11] = 0xff };
    if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) != 1) return 0;
    return !memcmp(a, v6_loop, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

enum { O_LISTEN = 256, O_TOKEN, O_MAX_BATCH, O_MAX_N, O_QUEUE, O_TIMEOUT };

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "checkpoint", required_argument, 0, 'c' }, { "listen", required_argument, 0, O_LISTEN },
        { "token", required_argument, 0, O_TOKEN },  { "max-batch", required_argument, 0, O_MAX_BATCH },
        { "max-n", required_argument, 0, O_MAX_N },  { "queue", required_argument, 0, O_QUEUE },
        { "timeout", required_argument, 0, O_TIMEOUT }, { "device", required_argument, 0, 'd' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    char host[64] = "127.0.0.1";
    serve_cfg cfg = { .host = host, .port = SERVE_DEFAULT_PORT, .max_batch = SERVE_DEFAULT_MAX_BATCH,
                      .max_n = SERVE_DEFAULT_MAX_N, .queue = SERVE_DEFAULT_QUEUE, .timeout = SERVE_DEFAULT_TIMEOUT,
                      .open_device = cli_open_ctx };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': help(); return CLI_EXIT_OK;
        case 'c': cfg.checkpoint = optarg; break;
        case 'd': cfg.device = optarg; break;
        case O_LISTEN: if (parse_listen(optarg, host, sizeof host, &cfg.port)) return CLI_EXIT_USAGE; break;
        case O_TOKEN:
            if (!*optarg) return cli_usage_error(CMD, "--token needs a non-empty value");
            cfg.token = optarg;
            break;
        case O_MAX_BATCH: if (parse_int("--max-batch", optarg, 1, 4096, &cfg.max_batch)) return CLI_EXIT_USAGE; break;
        case O_MAX_N: if (parse_int("--max-n", optarg, 1, CGAN_GEN_MAX_GRID, &cfg.max_n)) return CLI_EXIT_USAGE; break;
        case O_QUEUE: if (parse_int("--queue", optarg, 1, 100000, &cfg.queue)) return CLI_EXIT_USAGE; break;
        case O_TIMEOUT: {
            char *end;
            errno = 0;
            cfg.timeout = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(cfg.timeout >= 0.001 && cfg.timeout <= 86400))
                return cli_usage_error(CMD, "--timeout '%s': expected seconds in [0.001, 86400]", optarg);
            break;
        }
        default:
            if (optopt && optopt != '?') return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc && !cfg.checkpoint) cfg.checkpoint = argv[optind++];
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!cfg.checkpoint) return cli_usage_error(CMD, "--checkpoint PATH is required");
    if (!is_loopback(host) && !cfg.token)
        return cli_usage_error(CMD, "--listen %s is not a loopback address: give --token T so that only holders "
                                    "of the token can generate", host);
    /* testing aid (tests/check_serve.c): a slow device, for the 503 and 504 cases */
    const char *delay = getenv("CGAN_SERVE_TEST_DELAY_MS");
    if (delay) cfg.test_delay_ms = atoi(delay);

    /* every thread started from here on has these blocked; this one waits for them */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    serve *s = NULL;
    char err[1024] = "";
    if (serve_start(&cfg, &s, err, sizeof err)) {
        cli_error(CMD, err);
        return CLI_EXIT_FAIL;
    }
    printf("serving %s on http://%s%s%s:%d/ (max batch %d, max n %d, queue %d, timeout %g s%s)\n", cfg.checkpoint,
           strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", serve_port(s), cfg.max_batch,
           cfg.max_n, cfg.queue, cfg.timeout, cfg.token ? ", token required" : "");
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    printf("%s: finishing the requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    serve_stop(s);
    printf("stopped\n");
    return CLI_EXIT_OK;
}
