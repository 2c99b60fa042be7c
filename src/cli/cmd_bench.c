/* cmd_bench.c: `mdk bench MODEL|BUNDLE`: latency distribution, throughput, load time, peak memory and CPU use
 * over batch x threads x concurrency on this machine, with the environment recorded; text, JSON, Markdown and
 * SVG reports. The timed call is mdk_model_run (or the whole pipeline with --image), nothing else. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_LIST 16
#define MAX_RUNS 10000000

typedef struct list {
    long long v[MAX_LIST];
    size_t n;
} list;


/* ---- SVG ---- */

static void svg_latency(FILE *f, cJSON *configs)
{
    int n = cJSON_GetArraySize(configs), h = 60 + 36 * n;
    double mx = 0;
    for (cJSON *c = configs->child; c; c = c->next)
        mx = fmax(mx, cJSON_GetObjectItem(cJSON_GetObjectItem(c, "latency_ms"), "p99.9")->valuedouble);
    mx = mx > 0 ? mx * 1.1 : 1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<text x=\"10\" y=\"20\" font-size=\"14\">Latency per request (ms): bar to P50 (value shown), line min..max</text>\n"
               "<text x=\"560\" y=\"20\" fill=\"#f58518\">| P90</text><text x=\"610\" y=\"20\" fill=\"#e45756\">| P99</text>"
               "<text x=\"660\" y=\"20\" fill=\"#72b7b2\">| P99.9</text>\n", h);
    int y = 40;
    for (cJSON *c = configs->child; c; c = c->next, y += 36) {
        cJSON *l = cJSON_GetObjectItem(c, "latency_ms");
        double s = 560.0 / mx;
        fprintf(f, "<text x=\"10\" y=\"%d\">%s</text>\n", y + 14, cJSON_GetObjectItem(c, "label")->valuestring);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>\n", 180 + s * cJSON_GetObjectItem(l, "min")->valuedouble,
                y + 10, 180 + s * cJSON_GetObjectItem(l, "max")->valuedouble, y + 10);
        fprintf(f, "<rect x=\"180\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"#4c78a8\"/>\n", y,
                s * cJSON_GetObjectItem(l, "p50")->valuedouble);
        /* drawn widest first, so that a percentile equal to a higher one stays visible */
        const char *keys[] = {"p99.9", "p99", "p90"};
        const char *colors[] = {"#72b7b2", "#e45756", "#f58518"};
        for (int k = 0; k < 3; k++)
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                    180 + s * cJSON_GetObjectItem(l, keys[k])->valuedouble, y, 180 + s * cJSON_GetObjectItem(l, keys[k])->valuedouble,
                    y + 20, colors[k]);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.3g</text>\n", 186 + s * cJSON_GetObjectItem(l, "p99.9")->valuedouble, y + 14,
                cJSON_GetObjectItem(l, "p50")->valuedouble);
    }
    fprintf(f, "</svg>\n");
}

/* One line per (batch, threads) series across concurrency: throughput solid (left axis), P99 dashed (right). */
static void svg_concurrency(FILE *f, cJSON *configs)
{
    static const char *const colors[] = {"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d",
                                         "#bab0ac"};
    double tmax = 0, pmax = 0, cmax = 1;
    for (cJSON *c = configs->child; c; c = c->next) {
        tmax = fmax(tmax, cJSON_GetObjectItem(c, "throughput")->valuedouble);
        pmax = fmax(pmax, cJSON_GetObjectItem(cJSON_GetObjectItem(c, "latency_ms"), "p99")->valuedouble);
        cmax = fmax(cmax, cJSON_GetObjectItem(c, "concurrency")->valuedouble);
    }
    tmax = tmax > 0 ? tmax * 1.1 : 1;
    pmax = pmax > 0 ? pmax * 1.1 : 1;
    const double x0 = 70, x1 = 560, y0 = 320, y1 = 50;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\" height=\"370\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<text x=\"10\" y=\"20\" font-size=\"14\">Throughput (solid, items/s, left) and P99 latency (dashed, ms, right) "
               "against concurrency</text>\n"
               "<path d=\"M%.0f %.0f V%.0f H%.0f V%.0f\" fill=\"none\" stroke=\"#333\"/>\n", x0, y1, y0, x1, y1);
    for (int k = 0; k <= 4; k++) { /* axis ticks */
        double y = y0 - (y0 - y1) * k / 4;
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g</text><text x=\"%.0f\" y=\"%.0f\">%.3g</text>\n",
                x0 - 6, y + 4, tmax * k / 4, x1 + 6, y + 4, pmax * k / 4);
    }
    for (int k = 1; k <= (int)cmax; k++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n", x0 + (x1 - x0) * k / cmax, y0 + 16, k);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">concurrency</text>\n", (x0 + x1) / 2, y0 + 34);
    int series = 0;
    for (cJSON *c = configs->child; c; c = c->next) {
        double b = cJSON_GetObjectItem(c, "batch")->valuedouble, t = cJSON_GetObjectItem(c, "threads")->valuedouble;
        int seen = 0;
        for (cJSON *p = configs->child; p != c && !seen; p = p->next)
            seen = cJSON_GetObjectItem(p, "batch")->valuedouble == b && cJSON_GetObjectItem(p, "threads")->valuedouble == t;
        if (seen) continue;
        const char *col = colors[series % 8];
        for (int kind = 0; kind < 2; kind++) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col,
                    kind ? " stroke-dasharray=\"6 4\"" : "");
            for (cJSON *q = c; q; q = q->next) {
                if (cJSON_GetObjectItem(q, "batch")->valuedouble != b || cJSON_GetObjectItem(q, "threads")->valuedouble != t) continue;
                double v = kind ? cJSON_GetObjectItem(cJSON_GetObjectItem(q, "latency_ms"), "p99")->valuedouble / pmax
                                : cJSON_GetObjectItem(q, "throughput")->valuedouble / tmax;
                fprintf(f, "%.1f,%.1f ", x0 + (x1 - x0) * cJSON_GetObjectItem(q, "concurrency")->valuedouble / cmax, y0 - (y0 - y1) * v);
            }
            fprintf(f, "\"/>\n");
        }
        fprintf(f, "<line x1=\"620\" y1=\"%d\" x2=\"650\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                   "<text x=\"656\" y=\"%d\">batch %g, threads %g</text>\n", 60 + 20 * series, 60 + 20 * series, col,
                64 + 20 * series, b, t);
        series++;
    }
    fprintf(f, "</svg>\n");
}

static void help(void)
{
    printf("usage: mdk bench MODEL|BUNDLE [--batch LIST] [--threads LIST] [--concurrency LIST] [--runs N | --duration S]\n"
           "                 [--warmup N] [--input NAME=FILE|random ...] [--dim DIM=V ...] [--image FILE]\n"
           "                 [--json FILE] [--report DIR]\n\n"
           "Measures on this machine, for every combination of batch size, ONNX Runtime threads and concurrency\n"
           "(requests in flight on one loaded model): latency min/P50/P90/P99/P99.9/max, throughput, load time\n"
           "(opening the model to the first result), peak RSS and CPU use, with the CPU, its instruction-set\n"
           "flags and the mdk and ONNX Runtime versions recorded. A progress bar shows on a terminal.\n\n"
           "  --batch LIST        batch sizes (default 1): the inputs' batch dim (the first input's dynamic dim 0, by\n"
           "                      name wherever another input has it); a bundle's first test case is repeated to fill it\n"
           "  --threads LIST      intra-op threads (default 1)\n"
           "  --concurrency LIST  parallel requests (default 1)\n"
           "  --runs N            timed requests per configuration (default 100)\n"
           "  --duration S        time per configuration instead of a run count\n"
           "  --warmup N          untimed requests first (default 10)\n"
           "  --input, --dim      inputs as for mdk run (default: a bundle's first test case, else random inputs)\n"
           "  --image FILE        time a bundle's whole pipeline on this file as a request pays it: decoding, preprocessing,\n"
           "                      the model, postprocessing (batch = copies of it)\n"
           "  --json FILE         the report as JSON (its \"markdown\" field is what mdk pack --bench embeds)\n"
           "  --report DIR        bench.json, bench.md, latency.svg and concurrency.svg in DIR\n");
}

/* The SHA-256 of the model a path stands for: a bundle's model/model.onnx, a spec's model file, or the file. */
static int model_digest(const char *path, char out[65])
{
    char *data = NULL;
    size_t len = 0;
    int rc = -1;
    if (mdk_path_is_bundle(path)) {
        mdk_bundle *b = NULL;
        if (mdk_bundle_open(path, &b) == MDK_OK && mdk_bundle_read_file(b, "model/model.onnx", (uint64_t)2 << 30, &data, &len) == MDK_OK) {
            mdk_sha256_hex(data, len, out);
            rc = 0;
        }
        mdk_free(data);
        mdk_bundle_close(b);
        return rc;
    }
    mdk_spec *spec = NULL;
    const char *model = bench_is_pipeline(path) && mdk_spec_read(path, &spec) == MDK_OK ? mdk_spec_model_path(spec) : path;
    FILE *f = fopen(model, "rb");
    long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *buf = size >= 0 && size < (2L << 30) && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)size + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
        mdk_sha256_hex(buf, (size_t)size, out);
        rc = 0;
    }
    free(buf);
    if (f) fclose(f);
    mdk_spec_free(spec);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    const char *path = NULL, *json_path = NULL, *report = NULL, *image = NULL;
    const char *inputs[64];
    dim_arg dims[64];
    size_t n_inputs = 0, n_dims = 0;
    list batches = {{1}, 1}, threads = {{1}, 1}, conc = {{1}, 1};
    long long runs = 100, warmup = 10;
    double duration = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            help();
            return 0;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--batch", &v))) {
            if (r < 0 || cli_parse_list(v, 1, 65536, batches.v, &batches.n, MAX_LIST)) return cli_usage_error("bench", "--batch needs sizes like 1,8,32");
        } else if ((r = cli_opt_value(argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_list(v, 1, 1024, threads.v, &threads.n, MAX_LIST)) return cli_usage_error("bench", "--threads needs counts like 1,2,4");
        } else if ((r = cli_opt_value(argc, argv, &i, "--concurrency", &v))) {
            if (r < 0 || cli_parse_list(v, 1, 1024, conc.v, &conc.n, MAX_LIST)) return cli_usage_error("bench", "--concurrency needs counts like 1,4");
        } else if ((r = cli_opt_value(argc, argv, &i, "--runs", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, MAX_RUNS, &runs)) return cli_usage_error("bench", "--runs needs 1 to %d", MAX_RUNS);
        } else if ((r = cli_opt_value(argc, argv, &i, "--duration", &v))) {
            if (r < 0 || cli_parse_f64(v, &duration) || duration <= 0 || duration > 86400)
                return cli_usage_error("bench", "--duration needs seconds > 0");
        } else if ((r = cli_opt_value(argc, argv, &i, "--warmup", &v))) {
            if (r < 0 || cli_parse_i64(v, 0, 100000, &warmup)) return cli_usage_error("bench", "--warmup needs 0 to 100000");
        } else if ((r = cli_opt_value(argc, argv, &i, "--input", &v))) {
            if (r < 0 || n_inputs == 64) return cli_usage_error("bench", "--input needs NAME=FILE|random");
            inputs[n_inputs++] = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--dim", &v))) {
            if ((r = cli_parse_dim("bench", r, v, dims, &n_dims, 63)) != 0) return r;
        } else if ((r = cli_opt_value(argc, argv, &i, "--image", &v))) {
            if (r < 0) return cli_usage_error("bench", "--image needs a file");
            image = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--json", &v))) {
            if (r < 0) return cli_usage_error("bench", "--json needs a file");
            json_path = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--report", &v))) {
            if (r < 0) return cli_usage_error("bench", "--report needs a directory");
            report = v;
        } else if ((r = cli_positional("bench", argv[i], &path)) != 0) {
            return r;
        }
    }
    if (!path) return cli_usage_error("bench", "missing MODEL");
    if (duration > 0) runs = MAX_RUNS;
    if (image && !bench_is_pipeline(path)) return cli_usage_error("bench", "--image needs a bundle or an mdk.yaml");
    int tty = isatty(STDERR_FILENO);
    char cpu[256], flags[256];
    bench_cpu_info(cpu, sizeof cpu, flags, sizeof flags);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cJSON *root = cJSON_CreateObject(), *env = cJSON_AddObjectToObject(root, "environment");
    cJSON_AddStringToObject(env, "cpu", cpu);
    cJSON_AddNumberToObject(env, "logical_cores", (double)cores);
    cJSON_AddStringToObject(env, "cpu_flags", flags);
    cJSON_AddStringToObject(env, "mdk", mdk_version());
    cJSON_AddStringToObject(env, "onnxruntime", mdk_ort_version());
    cJSON_AddStringToObject(env, "model", path);
    char digest[65] = "unknown";
    if (model_digest(path, digest) == 0) cJSON_AddStringToObject(env, "model_sha256", digest);
    const char *timed = image ? "the whole pipeline on an image file: decoding, preprocessing, the model, postprocessing"
                              : "the model on tensors";
    cJSON_AddStringToObject(env, "timed", timed);
    if (image) cJSON_AddStringToObject(env, "image", image);
    cJSON_AddNumberToObject(env, "runs", duration > 0 ? 0 : (double)runs);
    cJSON_AddNumberToObject(env, "duration_s", duration);
    cJSON_AddNumberToObject(env, "warmup", (double)warmup);
    cJSON *configs = cJSON_AddArrayToObject(root, "configs");
    int rc = 0;
    mdk_options base;
    mdk_options_init(&base);
    int header = 0; /* printed with the first result: a model that cannot be measured leaves only its error */
    mdk_tensor **first = NULL;
    size_t n_first = 0;
    if (!image && !n_inputs) rc = bench_first_case(path, &first, &n_first);
    for (size_t ti = 0; ti < threads.n && !rc; ti++)
        for (size_t bi = 0; bi < batches.n && !rc; bi++)
            for (size_t ci = 0; ci < conc.n && !rc; ci++) {
                bench_config cfg = {path, image, base, batches.v[bi], conc.v[ci], inputs, n_inputs, dims, n_dims,
                                    runs, warmup, duration, tty, first, n_first};
                cfg.opts.intra_op_threads = (int)threads.v[ti];
                char label[128];
                snprintf(label, sizeof label, "batch %lld, threads %lld, conc %lld", batches.v[bi], threads.v[ti], conc.v[ci]);
                if (tty) fprintf(stderr, "%s\n", label);
                bench_result r;
                if ((rc = bench_measure(&cfg, &r)) != 0) break;
                /* the batch the requests carried: given input files may hold another than --batch */
                snprintf(label, sizeof label, "batch %lld, threads %lld, conc %lld", r.batch, threads.v[ti], conc.v[ci]);
                if (!header++)
                    printf("%-28s %9s %9s %9s %9s %9s %11s %9s %8s %6s\n", "config", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
                           "max ms", "items/s", "load ms", "rss MB", "cpu %");
                cJSON *c = cJSON_CreateObject();
                cJSON_AddStringToObject(c, "label", label);
                cJSON_AddNumberToObject(c, "batch", (double)r.batch);
                cJSON_AddNumberToObject(c, "threads", (double)threads.v[ti]);
                cJSON_AddNumberToObject(c, "concurrency", (double)conc.v[ci]);
                cJSON_AddNumberToObject(c, "requests", (double)r.requests);
                cJSON *l = cJSON_AddObjectToObject(c, "latency_ms");
                cJSON_AddNumberToObject(l, "min", r.min_ms);
                cJSON_AddNumberToObject(l, "mean", r.mean_ms);
                cJSON_AddNumberToObject(l, "p50", r.p50_ms);
                cJSON_AddNumberToObject(l, "p90", r.p90_ms);
                cJSON_AddNumberToObject(l, "p99", r.p99_ms);
                cJSON_AddNumberToObject(l, "p99.9", r.p999_ms);
                cJSON_AddNumberToObject(l, "max", r.max_ms);
                cJSON_AddNumberToObject(c, "throughput", r.throughput);
                cJSON_AddNumberToObject(c, "load_ms", r.load_ms);
                cJSON_AddNumberToObject(c, "peak_rss_mb", r.peak_rss_mb);
                cJSON_AddNumberToObject(c, "cpu_percent", r.cpu_percent);
                cJSON_AddItemToArray(configs, c);
                printf("%-28s %9.3f %9.3f %9.3f %9.3f %9.3f %11.1f %9.1f %8.1f %6.1f\n", label, r.p50_ms, r.p90_ms, r.p99_ms,
                       r.p999_ms, r.max_ms, r.throughput, r.load_ms, r.peak_rss_mb, r.cpu_percent);
                fflush(stdout);
            }
    cli_dims_free(dims, n_dims);
    mdk_tensors_free(first, n_first);
    if (!rc) { /* the Markdown table, also what mdk pack --bench embeds */
        char md[65536];
        size_t used = (size_t)snprintf(md, sizeof md, "Measured with `mdk bench` (mdk %s, ONNX Runtime %s) on %s, %ld logical "
                                       "cores (%s). Timed: %s; model sha256 %.16s....\n\n| batch | threads | concurrency | "
                                       "P50 ms | P90 ms | P99 ms | P99.9 ms | items/s | load ms | peak RSS MB |\n"
                                       "|---|---|---|---|---|---|---|---|---|---|\n",
                                       mdk_version(), mdk_ort_version(), cpu, cores, flags, timed, digest);
        for (cJSON *c = configs->child; c && used < sizeof md; c = c->next) {
            cJSON *l = cJSON_GetObjectItem(c, "latency_ms");
            used += (size_t)snprintf(md + used, sizeof md - used, "| %g | %g | %g | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f | %.1f |\n",
                                     cJSON_GetObjectItem(c, "batch")->valuedouble, cJSON_GetObjectItem(c, "threads")->valuedouble,
                                     cJSON_GetObjectItem(c, "concurrency")->valuedouble, cJSON_GetObjectItem(l, "p50")->valuedouble,
                                     cJSON_GetObjectItem(l, "p90")->valuedouble, cJSON_GetObjectItem(l, "p99")->valuedouble,
                                     cJSON_GetObjectItem(l, "p99.9")->valuedouble, cJSON_GetObjectItem(c, "throughput")->valuedouble,
                                     cJSON_GetObjectItem(c, "load_ms")->valuedouble, cJSON_GetObjectItem(c, "peak_rss_mb")->valuedouble);
        }
        cJSON_AddStringToObject(root, "markdown", md);
        char *text = cJSON_Print(root);
        if (json_path) {
            FILE *f = fopen(json_path, "w");
            if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) rc = cli_error("bench", "cannot write '%s'", json_path);
        }
        if (!rc && report && cli_mkdirs(report) != 0) rc = cli_error("bench", "cannot create '%s'", report);
        for (int k = 0; !rc && report && k < 4; k++) {
            static const char *const names[] = {"bench.json", "bench.md", "latency.svg", "concurrency.svg"};
            char p[4200];
            if (mdk_path_join(p, sizeof p, report, names[k]) != MDK_OK) {
                rc = cli_lib_error("bench", MDK_ERR_TOO_LARGE);
                break;
            }
            FILE *f = fopen(p, "w");
            if (!f) {
                rc = cli_error("bench", "cannot write '%s'", p);
                break;
            }
            if (k == 0) fprintf(f, "%s\n", text);
            else if (k == 1)
                fprintf(f, "# mdk bench: %s\n\n%s\n![latency](latency.svg)\n\n![concurrency](concurrency.svg)\n", path, md);
            else if (k == 2) svg_latency(f, configs);
            else svg_concurrency(f, configs);
            if (ferror(f) | fclose(f)) rc = cli_error("bench", "cannot write '%s'", p);
        }
        free(text);
    }
    cJSON_Delete(root);
    return rc;
}
