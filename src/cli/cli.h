/* Subcommands of the cgan-cl command line. Only src/cli prints or exits. */
#ifndef CGAN_CLI_H
#define CGAN_CLI_H
#include "cgan/cgan.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cmd_devices(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Print "cgan-cl: <what>: <message>" on stderr. */
void cli_error(const char *what, const char *msg);
/* Print usage of a subcommand or of the program on stderr and return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...);
/* An integer option's value v in [lo, hi] into *out; else the usage error of cmd naming
 * opt (printed) and -1. */
int cli_parse_long(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out);
/* Open ctx (made by the caller) on spec with the --device-class of the command line; prints
 * nothing. */
cgan_status cli_open_ctx(cgan_ctx *ctx, const char *spec);
/* Print the library's new warnings on stderr, "cgan-cl: warning: ...". */
void cli_warnings(cgan_ctx *ctx);
/* Open a context on spec (NULL: $CGAN_DEVICE or default), printing the error on failure. */
cgan_ctx *cli_open(const char *spec);
#endif
