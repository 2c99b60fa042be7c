/* cli.h: helpers shared by the mdk command's verbs: errors, checked number parsing, verb table. The CLI
 * uses only libmdk's public API. */
#ifndef MDK_CLI_H
#define MDK_CLI_H

#include <stdio.h>

#include "mdk/mdk.h"

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Prints "mdk VERB: message" on stderr and returns CLI_EXIT_FAIL. */
int cli_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "mdk VERB: message" plus a hint to --help and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The library's message for the last failure. */
int cli_lib_error(const char *verb, mdk_status st);

/* Whole-string checked parsing. Return 0 on success, -1 otherwise. */
int cli_parse_i64(const char *s, long long min, long long max, long long *out);
int cli_parse_f64(const char *s, double *out);
/* Matches `arg` against "--name" or "--name=value"; on a match sets *value (the next argument when not
 * inline, advancing *i) and returns 1; returns -1 when the value is missing. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);
int cli_is_help(const char *arg);
/* For an argument no option of the verb matched: the first non-option becomes *model; an unknown option or
 * a second positional is a usage error. Returns 0, or the exit code to return. */
int cli_positional(const char *verb, const char *arg, const char **model);
/* A comma-separated list of integers in [lo, hi] ("1,8,32") into v[0..*n), at most `max`. 0 or -1. */
int cli_parse_list(const char *s, long long lo, long long hi, long long *v, size_t *n, size_t max);
/* Creates a directory and its parents (mode 0755). */
int cli_mkdirs(const char *path);

/* --dim DIM=VALUE (or INPUT:AXIS=VALUE) */
typedef struct dim_arg {
    const char *name;
    long long value;
} dim_arg;

/* --dim DIM=VALUE (the option's value `v`, cli_opt_value's result `r`) appended to dims[*n] (at most `max`),
 * the name copied; free them with cli_dims_free. Returns 0 or the usage error's exit code. */
int cli_parse_dim(const char *verb, int r, const char *v, dim_arg *dims, size_t *n, size_t max);
void cli_dims_free(dim_arg *dims, size_t n);

/* What --input NAME=FILE|random, --dim and --seed ask for. */
typedef struct feed_args {
    const char *verb;      /* for messages */
    const char **inputs;
    size_t n_inputs;
    const dim_arg *dims;
    size_t n_dims;
    unsigned long long seed;
} feed_args;

/* Reads or generates each --input as a named tensor for model `m` into feeds[0..n_inputs). Returns 0 or the
 * exit code after printing the error. */
int cli_read_feeds(const mdk_model *m, const feed_args *a, mdk_tensor **feeds);
/* A random tensor for input `idx`, its dynamic dims taken from `dims`. */
int cli_make_random(const char *verb, const mdk_model *m, int idx, const dim_arg *dims, size_t nd,
                    unsigned long long seed, mdk_tensor **out);

/* The batch of a model's inputs: axes[i] is where input i carries it (-1: nowhere); returns its dim name, NULL
 * when unnamed. `axes` holds one entry per input. */
const char *cli_batch_axes(const mdk_model *m, int *axes);
/* A new tensor of `src`'s items[0..n) along `axis`, named as `src` (strings too). */
mdk_status cli_take_items(const mdk_tensor *src, int axis, const int64_t *items, size_t n, mdk_tensor **out);

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_accept(int argc, char **argv);

#endif
