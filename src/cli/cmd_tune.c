/* cmd_tune.c: `mdk tune MODEL|BUNDLE --objective latency|throughput`: a staged search over ONNX Runtime's
 * graph optimization level, execution mode, intra/inter-op threads, batch size and concurrency, each
 * configuration measured with bench_measure; prints the best and the runners-up and can write the winner
 * into a spec's runtime defaults. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_TRIALS 96

typedef struct trial {
    int opt_level, mode, intra, inter;
    long long batch, conc;
    bench_result r;
    int over_p99; /* P99 above --p99-ms: not eligible */
} trial;

typedef struct tuner {
    bench_config base;
    int throughput;  /* objective */
    double p99_ms;   /* 0: no constraint */
    trial trials[MAX_TRIALS];
    size_t n;
    int tty;
} tuner;

static const char *const g_levels[] = {"none", "basic", "extended", "all"};
static const char *const g_modes[] = {"sequential", "parallel"};

/* 1 when `a` is better than `b` for the objective; eligible trials (P99 within the limit) first. */
static int better(const tuner *t, const trial *a, const trial *b)
{
    if (a->over_p99 != b->over_p99) return !a->over_p99;
    if (t->throughput) return a->r.throughput > b->r.throughput;
    return a->r.p50_ms < b->r.p50_ms;
}

static const trial *best(const tuner *t)
{
    const trial *b = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (!b || better(t, &t->trials[i], b)) b = &t->trials[i];
    return b;
}

/* Measures a configuration unless it was measured already; returns 0 or the exit code. */
static int try(tuner *t, int opt_level, int mode, int intra, int inter, long long batch, long long conc)
{
    for (size_t i = 0; i < t->n; i++) {
        const trial *x = &t->trials[i];
        if (x->opt_level == opt_level && x->mode == mode && x->intra == intra && x->inter == inter && x->batch == batch &&
            x->conc == conc)
            return 0;
    }
    if (t->n == MAX_TRIALS) return 0;
    trial *x = &t->trials[t->n];
    memset(x, 0, sizeof *x);
    x->opt_level = opt_level, x->mode = mode, x->intra = intra, x->inter = inter, x->batch = batch, x->conc = conc;
    bench_config cfg = t->base;
    cfg.opts.graph_opt_level = opt_level;
    cfg.opts.execution_mode = mode;
    cfg.opts.intra_op_threads = intra;
    cfg.opts.inter_op_threads = inter;
    cfg.batch = batch;
    cfg.concurrency = conc;
    if (t->tty)
        fprintf(stderr, "\r  trial %zu: opt %s, %s, threads %d/%d, batch %lld, concurrency %lld%10s", t->n + 1,
                g_levels[opt_level], g_modes[mode], intra, inter, batch, conc, "");
    int rc = bench_measure(&cfg, &x->r);
    if (t->tty) fprintf(stderr, "\r%100s\r", "");
    if (rc) return rc;
    x->over_p99 = t->p99_ms > 0 && x->r.p99_ms > t->p99_ms;
    t->n++;
    return 0;
}

/* Whether the model's (or pipeline's) first input has a dynamic first dim: only then is batch searched. */
static mdk_status batchable(const char *path, const mdk_options *o, int *r)
{
    mdk_pipeline *p = NULL;
    mdk_model *m = NULL;
    mdk_status st = bench_is_pipeline(path) ? mdk_pipeline_open(path, o, &p) : mdk_model_open(path, o, &m);
    if (st != MDK_OK) return st;
    if (p) m = mdk_pipeline_model(p);
    const mdk_value_info *v = mdk_model_input_count(m) ? mdk_model_input(m, 0) : NULL;
    *r = v && v->has_shape && v->ndim >= 1 && v->dims[0].value < 0;
    if (p) mdk_pipeline_close(p);
    else mdk_model_close(m);
    return MDK_OK;
}

static int search(tuner *t, int cores, const long long *batches, size_t n_batches, const long long *concs, size_t n_concs)
{
    int rc;
    /* 1: engine settings at batch 1, one request at a time, all cores */
    for (int level = 1; level <= 3; level++)
        for (int mode = 0; mode < 2; mode++)
            if ((rc = try(t, level, mode, cores, mode ? 2 : 1, 1, 1))) return rc;
    trial e = *best(t);
    /* 2: intra-op threads (1, 2, 4, ... and all cores) at that engine setting */
    int counts[16], n_counts = 0;
    for (int th = 1; th < cores && n_counts < 15; th *= 2) counts[n_counts++] = th;
    counts[n_counts++] = cores;
    for (int k = 0; k < n_counts; k++)
        if ((rc = try(t, e.opt_level, e.mode, counts[k], e.inter, 1, 1))) return rc;
    if (!t->throughput) return 0; /* latency: one request at a time, batch 1 */
    /* 3: threads x concurrency within the cores (throughput comes from parallel requests too) */
    for (size_t c = 0; c < n_concs; c++)
        for (int k = 0; k < n_counts; k++)
            if (counts[k] * concs[c] <= 2LL * cores && (rc = try(t, e.opt_level, e.mode, counts[k], e.inter, 1, concs[c])))
                return rc;
    trial tc = *best(t);
    /* 4: batch size at the best threads and concurrency */
    for (size_t b = 0; b < n_batches; b++)
        if ((rc = try(t, e.opt_level, e.mode, tc.intra, tc.inter, batches[b], tc.conc))) return rc;
    return 0;
}

/* ---- writing the winner into a spec ---- */

static const char *const g_managed[] = {"threads", "inter_op_threads", "execution_mode", "graph_optimization_level",
                                        "batch", "concurrency", NULL};

static int managed_key(const char *line)
{
    const char *p = line;
    while (*p == ' ') p++;
    for (int i = 0; g_managed[i]; i++) {
        size_t n = strlen(g_managed[i]);
        if (strncmp(p, g_managed[i], n) == 0 && p[n] == ':') return 1;
    }
    return 0;
}

/* Replaces the spec's `runtime:` block (or appends one), keeping its other keys, then checks that the result
 * reads back with the new values before it replaces the file. */
static int write_spec(const char *path, const trial *w)
{
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("tune", "cannot read '%s': %s", path, strerror(errno));
    char *text = NULL;
    size_t cap = 0, len = 0;
    char line[4096];
    int in_block = 0, found = 0, indent = -1, skipping = 0;
    char block[1024];
    snprintf(block, sizeof block,
             "runtime:\n  threads: %d\n  inter_op_threads: %d\n  execution_mode: %s\n  graph_optimization_level: %s\n"
             "  batch: %lld\n  concurrency: %lld\n",
             w->intra, w->inter, g_modes[w->mode], g_levels[w->opt_level], w->batch, w->conc);
    while (fgets(line, sizeof line, f)) {
        const char *out = line;
        if (!in_block && strncmp(line, "runtime:", 8) == 0) {
            const char *rest = line + 8;
            while (*rest == ' ') rest++;
            if (*rest && *rest != '\n' && *rest != '#') {
                fclose(f);
                free(text);
                return cli_error("tune", "%s: 'runtime:' is written inline; write it as a block (one key per line) so "
                                 "mdk tune can update it", path);
            }
            in_block = found = 1;
            out = block;
        } else if (in_block) {
            int blank = line[strspn(line, " \n")] == '\0' || line[strspn(line, " ")] == '#';
            int ind = (int)strspn(line, " ");
            if (!blank && ind == 0) {
                in_block = 0;
            } else {
                if (!blank && indent < 0) indent = ind;
                if (!blank && ind == indent) skipping = managed_key(line);
                if (skipping && !blank) continue;
                if (blank && ind == 0) continue;
            }
        }
        size_t n = strlen(out);
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *t = realloc(text, cap);
            if (!t) {
                fclose(f);
                free(text);
                return cli_error("tune", "out of memory");
            }
            text = t;
        }
        memcpy(text + len, out, n + 1);
        len += n;
    }
    fclose(f);
    if (!found) {
        size_t n = strlen(block) + 2;
        char *t = realloc(text, len + n + 1);
        if (!t) {
            free(text);
            return cli_error("tune", "out of memory");
        }
        text = t;
        len += (size_t)snprintf(text + len, n + 1, "%s%s", len && text[len - 1] != '\n' ? "\n" : "", block);
    }
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tune-%ld.yaml", path, (long)getpid()) >= (int)sizeof tmp) {
        free(text);
        return cli_error("tune", "the spec path '%.60s...' is too long (limit %zu bytes)", path, sizeof tmp - 32);
    }
    FILE *o = fopen(tmp, "w");
    int ok = o && fwrite(text, 1, len, o) == len;
    if (o && fclose(o) != 0) ok = 0;
    free(text);
    if (!ok) {
        unlink(tmp);
        return cli_error("tune", "cannot write '%s'", tmp);
    }
    mdk_spec *spec = NULL;
    mdk_status st = mdk_spec_read(tmp, &spec);
    if (st == MDK_OK) {
        const mdk_spec_runtime *r = mdk_spec_runtime_defaults(spec);
        if (r->threads != w->intra || r->inter_op_threads != w->inter || r->execution_mode != w->mode ||
            r->graph_opt_level != w->opt_level || r->batch != w->batch || r->concurrency != w->conc)
            st = MDK_ERR_FORMAT;
    }
    mdk_spec_free(spec);
    if (st != MDK_OK) {
        unlink(tmp);
        return cli_error("tune", "%s: the updated spec does not read back as written; left unchanged", path);
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return cli_error("tune", "cannot replace '%s': %s", path, strerror(errno));
    }
    return 0;
}

/* ---- output ---- */

static cJSON *trial_json(const trial *x)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "graph_optimization_level", g_levels[x->opt_level]);
    cJSON_AddStringToObject(c, "execution_mode", g_modes[x->mode]);
    cJSON_AddNumberToObject(c, "intra_op_threads", x->intra);
    cJSON_AddNumberToObject(c, "inter_op_threads", x->inter);
    cJSON_AddNumberToObject(c, "batch", (double)x->batch);
    cJSON_AddNumberToObject(c, "concurrency", (double)x->conc);
    cJSON_AddNumberToObject(c, "p50_ms", x->r.p50_ms);
    cJSON_AddNumberToObject(c, "p99_ms", x->r.p99_ms);
    cJSON_AddNumberToObject(c, "throughput", x->r.throughput);
    cJSON_AddNumberToObject(c, "requests", (double)x->r.requests);
    cJSON_AddBoolToObject(c, "within_p99", !x->over_p99);
    return c;
}

static void print_trial(const char *tag, const trial *x)
{
    printf("%-10s %-9s %-10s %7d %7d %6lld %5lld %9.3f %9.3f %10.1f%s\n", tag, g_levels[x->opt_level], g_modes[x->mode],
           x->intra, x->inter, x->batch, x->conc, x->r.p50_ms, x->r.p99_ms, x->r.throughput,
           x->over_p99 ? "  (P99 over the limit)" : "");
}


static void help(void)
{
    printf("usage: mdk tune MODEL|BUNDLE|SPEC --objective latency|throughput [options]\n\n"
           "Searches ONNX Runtime's settings on this machine, in stages: graph optimization level and execution\n"
           "mode (with inter-op threads), then intra-op threads; for throughput also threads x concurrency\n"
           "(parallel requests on one loaded model) and the batch size. Every configuration is measured like\n"
           "mdk bench. Latency minimises P50 at batch 1, one request at a time; throughput maximises items/s.\n"
           "With --p99-ms, configurations whose P99 is above it are only chosen when none is within it.\n"
           "Prints every configuration tried, the best and the runners-up.\n\n"
           "  --objective O      latency or throughput (required)\n"
           "  --p99-ms X         P99 latency limit in milliseconds\n"
           "  --budget S         seconds per configuration (default 1)\n"
           "  --max-threads N    largest intra-op thread count tried (default: logical cores)\n"
           "  --batch LIST       batch sizes tried for throughput (default 1,2,4,8,16; when the batch dim is dynamic)\n"
           "  --concurrency LIST concurrency tried for throughput (default 1,2,4)\n"
           "  --input, --dim     inputs as for mdk bench (default: every input random)\n"
           "  --image FILE       tune a bundle's or spec's whole pipeline on this image\n"
           "  --spec FILE        write the best configuration into this mdk.yaml's runtime: block\n"
           "  --json FILE        every configuration and the best as JSON\n");
}

int cmd_tune(int argc, char **argv)
{
    tuner t;
    memset(&t, 0, sizeof t);
    const char *path = NULL, *spec_path = NULL, *json_path = NULL, *objective = NULL;
    const char *inputs[64];
    dim_arg dims[64];
    size_t n_inputs = 0, n_dims = 0, n_batches = 5, n_concs = 3;
    long long batches[16] = {1, 2, 4, 8, 16}, concs[16] = {1, 2, 4}, max_threads = 0;
    double budget = 1;
    mdk_options_init(&t.base.opts);
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            help();
            return 0;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--objective", &v))) {
            if (r < 0 || (strcmp(v, "latency") && strcmp(v, "throughput")))
                return cli_usage_error("tune", "--objective needs latency or throughput");
            objective = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--p99-ms", &v))) {
            if (r < 0 || cli_parse_f64(v, &t.p99_ms) || !(t.p99_ms > 0))
                return cli_usage_error("tune", "--p99-ms needs a positive number of milliseconds");
        } else if ((r = cli_opt_value(argc, argv, &i, "--budget", &v))) {
            if (r < 0 || cli_parse_f64(v, &budget) || !(budget > 0) || budget > 3600)
                return cli_usage_error("tune", "--budget needs seconds > 0");
        } else if ((r = cli_opt_value(argc, argv, &i, "--max-threads", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, 1024, &max_threads)) return cli_usage_error("tune", "--max-threads needs 1 to 1024");
        } else if ((r = cli_opt_value(argc, argv, &i, "--batch", &v))) {
            if (r < 0 || cli_parse_list(v, 1, 65536, batches, &n_batches, 16)) return cli_usage_error("tune", "--batch needs sizes like 1,8,32");
        } else if ((r = cli_opt_value(argc, argv, &i, "--concurrency", &v))) {
            if (r < 0 || cli_parse_list(v, 1, 1024, concs, &n_concs, 16)) return cli_usage_error("tune", "--concurrency needs counts like 1,4");
        } else if ((r = cli_opt_value(argc, argv, &i, "--input", &v))) {
            if (r < 0 || n_inputs == 64) return cli_usage_error("tune", "--input needs NAME=FILE|random");
            inputs[n_inputs++] = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--dim", &v))) {
            if ((r = cli_parse_dim("tune", r, v, dims, &n_dims, 63)) != 0) return r;
        } else if ((r = cli_opt_value(argc, argv, &i, "--image", &v))) {
            if (r < 0) return cli_usage_error("tune", "--image needs a file");
            t.base.image = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--spec", &v))) {
            if (r < 0) return cli_usage_error("tune", "--spec needs an mdk.yaml");
            spec_path = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--json", &v))) {
            if (r < 0) return cli_usage_error("tune", "--json needs a file");
            json_path = v;
        } else if ((r = cli_positional("tune", argv[i], &path)) != 0) {
            return r;
        }
    }
    if (!path) return cli_usage_error("tune", "missing MODEL");
    if (!objective) return cli_usage_error("tune", "--objective latency|throughput is required");
    if (t.base.image && !bench_is_pipeline(path)) return cli_usage_error("tune", "--image needs a bundle or an mdk.yaml");
    if (spec_path) { /* refuse a bad spec before spending the search on it */
        mdk_spec *s = NULL;
        mdk_status st = mdk_spec_read(spec_path, &s);
        if (st != MDK_OK) return cli_lib_error("tune", st);
        mdk_spec_free(s);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    if (max_threads) cores = max_threads;
    t.throughput = strcmp(objective, "throughput") == 0;
    t.tty = isatty(STDERR_FILENO);
    t.base.path = path;
    t.base.inputs = inputs, t.base.n_inputs = n_inputs, t.base.dims = dims, t.base.n_dims = n_dims;
    t.base.runs = 0, t.base.warmup = 3, t.base.duration_s = budget;
    int b = 0;
    mdk_status st = batchable(path, &t.base.opts, &b);
    if (st != MDK_OK) return cli_lib_error("tune", st);
    if (!b) n_batches = 1, batches[0] = 1;
    mdk_tensor **first = NULL; /* read once for every trial */
    size_t n_first = 0;
    int rc = !t.base.image && !n_inputs ? bench_first_case(path, &first, &n_first) : 0;
    t.base.first_case = first, t.base.n_first_case = n_first;
    if (rc == 0) rc = search(&t, (int)cores, batches, n_batches, concs, n_concs);
    if (rc == 0 && t.n == 0) rc = cli_error("tune", "no configuration could be measured");
    if (rc == 0) {
        /* ranked: best first */
        for (size_t i = 1; i < t.n; i++)
            for (size_t k = i; k > 0 && better(&t, &t.trials[k], &t.trials[k - 1]); k--) {
                trial x = t.trials[k];
                t.trials[k] = t.trials[k - 1];
                t.trials[k - 1] = x;
            }
        printf("mdk tune %s: objective %s%s, %zu configurations, %g s each\n", path, objective,
               t.p99_ms > 0 ? " within the P99 limit" : "", t.n, budget);
        printf("%-10s %-9s %-10s %7s %7s %6s %5s %9s %9s %10s\n", "rank", "opt", "mode", "intra", "inter", "batch", "conc",
               "p50 ms", "p99 ms", "items/s");
        for (size_t i = 0; i < t.n; i++) {
            char tag[16];
            snprintf(tag, sizeof tag, i == 0 ? "best" : "%zu", i + 1);
            print_trial(tag, &t.trials[i]);
        }
        const trial *w = &t.trials[0];
        if (w->over_p99)
            fprintf(stderr, "mdk tune: warning: no configuration meets --p99-ms %g; the best P99 is %.3f ms\n", t.p99_ms,
                    w->r.p99_ms);
        printf("best: graph_optimization_level %s, execution_mode %s, threads %d, inter_op_threads %d, batch %lld, "
               "concurrency %lld: P50 %.3f ms, P99 %.3f ms, %.1f items/s\n",
               g_levels[w->opt_level], g_modes[w->mode], w->intra, w->inter, w->batch, w->conc, w->r.p50_ms, w->r.p99_ms,
               w->r.throughput);
        if (json_path) {
            cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "configs");
            cJSON_AddStringToObject(root, "model", path);
            cJSON_AddStringToObject(root, "objective", objective);
            if (t.p99_ms > 0) cJSON_AddNumberToObject(root, "p99_limit_ms", t.p99_ms);
            cJSON_AddNumberToObject(root, "budget_s", budget);
            cJSON_AddStringToObject(root, "mdk", mdk_version());
            cJSON_AddStringToObject(root, "onnxruntime", mdk_ort_version());
            cJSON_AddItemToObject(root, "best", trial_json(w));
            for (size_t i = 0; i < t.n; i++) cJSON_AddItemToArray(arr, trial_json(&t.trials[i]));
            char *s = cJSON_Print(root);
            FILE *f = fopen(json_path, "w");
            if (!f || fprintf(f, "%s\n", s) < 0 || fclose(f) != 0) rc = cli_error("tune", "cannot write '%s'", json_path);
            free(s);
            cJSON_Delete(root);
        }
        if (!rc && spec_path && (rc = write_spec(spec_path, w)) == 0)
            printf("wrote the best configuration into %s (runtime:)\n", spec_path);
    }
    cli_dims_free(dims, n_dims);
    mdk_tensors_free(first, n_first);
    return rc;
}
