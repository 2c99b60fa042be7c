/* cmd_accept.c: `mdk accept BUNDLE`: the receiver's one command on their own hardware. Integrity and every
 * test case (mdk verify), the boundary probes (mdk check), a short latency run set against the bundle's
 * stated performance (mdk bench), and the environment, each step in its own process; a verdict per step, a
 * report in Markdown, JSON and SVG to send back to the vendor, and a non-zero exit on any failure. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

#define MAX_CHILD_OUTPUT ((size_t)64 << 20)

typedef struct step {
    const char *name;      /* "integrity and test cases", ... */
    const char *verdict;   /* "pass", "warn" or "fail" */
    char summary[512];
    cJSON *data;           /* the step's own JSON report, or NULL */
} step;

static void set_summary(step *s, const char *verdict, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_summary(step *s, const char *verdict, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->summary, sizeof s->summary, fmt, ap);
    va_end(ap);
    s->verdict = verdict;
}

/* Runs this mdk with `args` (NULL-terminated, without the program name), its stdout captured into `*out`
 * (NUL-terminated, free()) and its stderr passed through. Returns the exit status, or -1 when it did not end
 * normally (`*why` says how). */
static int run_self(const char *const *args, char **out, char *why, size_t why_size)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)"mdk";
    for (; args[n - 1] && n < 31; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    *out = NULL;
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, why_size, "cannot create a pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid;
    int e = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (e != 0) {
        close(fds[0]);
        snprintf(why, why_size, "cannot start mdk: %s", strerror(e));
        return -1;
    }
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && len + 1 == cap && cap < MAX_CHILD_OUTPUT) {
            char *g = realloc(buf, cap * 2);
            if (!g) break;
            buf = g, cap *= 2;
        }
        if (!buf || len + 1 == cap) break;
        ssize_t got = read(fds[0], buf + len, cap - 1 - len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (buf) buf[len] = '\0';
    *out = buf;
    if (WIFSIGNALED(status)) {
        snprintf(why, why_size, "crashed: %s", strsignal(WTERMSIG(status)));
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Runs `mdk VERB BUNDLE --json [--threads N]` as step `name`, its JSON report into s->data. Returns the exit
 * status, or -1 with `why` saying how the process ended. */
static int run_report(const char *verb, const char *name, const char *bundle, int threads, step *s, char *why,
                      size_t why_size)
{
    char t[16];
    snprintf(t, sizeof t, "%d", threads);
    const char *args[] = {verb, bundle, "--json", threads ? "--threads" : NULL, t, NULL};
    char *out = NULL;
    int rc = run_self(args, &out, why, why_size);
    s->name = name;
    s->data = out ? cJSON_Parse(out) : NULL;
    free(out);
    return rc;
}

/* Integrity (every file against manifest.json) and every test case through the whole pipeline. */
static void step_verify(const char *bundle, int threads, step *s)
{
    char why[256] = "";
    int rc = run_report("verify", "integrity and test cases", bundle, threads, s, why, sizeof why);
    double passed = num(s->data, "passed"), failed = num(s->data, "failed");
    if (rc < 0) set_summary(s, "fail", "mdk verify %s", why);
    else if (!s->data) set_summary(s, "fail", "the bundle failed its integrity check (the error is above)");
    else if (rc != 0 || failed > 0 || passed == 0)
        set_summary(s, "fail", "%.0f of %.0f test cases fail", failed, passed + failed);
    else set_summary(s, "pass", "every file matches manifest.json; %.0f of %.0f test cases pass", passed, passed + failed);
}

/* The boundary probes, each in its own process. */
static void step_check(const char *bundle, int threads, step *s)
{
    char why[256] = "";
    int rc = run_report("check", "boundary probes", bundle, threads, s, why, sizeof why);
    double passed = num(s->data, "passed"), warned = num(s->data, "warnings"), failed = num(s->data, "failed");
    if (rc < 0) set_summary(s, "fail", "mdk check %s", why);
    else if (!s->data) set_summary(s, "fail", "mdk check gave no report (exit %d; the error is above)", rc);
    else if (failed > 0) set_summary(s, "fail", "%.0f of %.0f probes fail", failed, passed + warned + failed);
    else set_summary(s, warned ? "warn" : "pass", "%.0f probes pass, %.0f with a warning", passed, warned);
}

/* For an image bundle, its first test image written into the report folder `dir` (`path`, `size` bytes):
 * the latency run then times the whole pipeline from the file, as a request runs it. "" for a tensor bundle,
 * whose first test case mdk bench takes by itself. 0, or -1 with `why` set. */
static int first_image(const mdk_bundle *b, const char *dir, char *path, size_t size, char *why, size_t why_size)
{
    path[0] = '\0';
    for (size_t i = 0; mdk_spec_has_preprocess(mdk_bundle_spec(b)) && i < mdk_bundle_file_count(b); i++) {
        const char *f = mdk_bundle_file_name(b, i);
        if (strncmp(f, "test_cases/images/", 18) != 0) continue;
        char *data = NULL;
        size_t len = 0;
        FILE *o = NULL;
        int ok = mdk_path_join(path, size, dir, strrchr(f, '/') + 1) == MDK_OK &&
                 mdk_bundle_read_file(b, f, MDK_IMAGE_MAX_FILE_BYTES, &data, &len) == MDK_OK;
        if (!ok) snprintf(why, why_size, "%.200s", mdk_errmsg());
        else if (!(o = fopen(path, "wb")) || fwrite(data, 1, len, o) != len) ok = 0, snprintf(why, why_size, "cannot write '%.200s'", path);
        if (o && fclose(o) != 0 && ok) ok = 0, snprintf(why, why_size, "cannot write '%.200s'", path);
        mdk_free(data);
        return ok ? 0 : -1;
    }
    return 0;
}

/* A short latency run in the configuration the spec declares, on the bundle's first test case, set against
 * its stated performance. */
static void step_latency(const mdk_bundle *b, const char *bundle, const char *dir, double seconds,
                         const char *bench_json, step *s)
{
    const mdk_spec *spec = mdk_bundle_spec(b);
    const mdk_spec_runtime *rt = mdk_spec_runtime_defaults(spec);
    char dur[32], conc[32], thr[32], why[256] = "";
    char image[4200];
    snprintf(dur, sizeof dur, "%g", seconds);
    snprintf(conc, sizeof conc, "%d", rt->concurrency > 0 ? rt->concurrency : 1);
    snprintf(thr, sizeof thr, "%d", rt->threads > 0 ? rt->threads : 1);
    s->name = "latency";
    if (first_image(b, dir, image, sizeof image, why, sizeof why) != 0) {
        set_summary(s, "fail", "no test image to time: %s", why);
        return;
    }
    const char *args[] = {"bench", bundle, "--duration", dur, "--concurrency", conc, "--threads", thr, "--json", bench_json,
                          image[0] ? "--image" : NULL, image, NULL};
    char *out = NULL;
    int rc = run_self(args, &out, why, sizeof why);
    free(out);
    FILE *f = rc == 0 ? fopen(bench_json, "r") : NULL;
    char *text = NULL;
    if (f) {
        size_t cap = 1 << 20, len = 0;
        text = malloc(cap);
        if (text) len = fread(text, 1, cap - 1, f);
        if (text) text[len] = '\0';
        fclose(f);
    }
    s->data = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *cfg = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s->data, "configs"), 0);
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(cfg, "latency_ms");
    if (rc != 0 || !lat) {
        set_summary(s, "fail", "mdk bench %s", rc < 0 ? why : "could not measure the model (the error is above)");
        return;
    }
    double p50 = num(lat, "p50"), p99 = num(lat, "p99"), tput = num(cfg, "throughput"), want_p99, want_tput;
    mdk_spec_performance(spec, &want_p99, &want_tput);
    int slow = want_p99 > 0 && p99 > want_p99, weak = want_tput > 0 && tput < want_tput;
    char targets[200] = "no performance stated by the bundle", p99_text[64] = "", tput_text[64] = "";
    if (want_p99 > 0) snprintf(p99_text, sizeof p99_text, "P99 <= %.6g ms", want_p99);
    if (want_tput > 0) snprintf(tput_text, sizeof tput_text, "throughput >= %.6g items/s", want_tput);
    if (want_p99 > 0 || want_tput > 0)
        snprintf(targets, sizeof targets, "stated: %s%s%s", p99_text, *p99_text && *tput_text ? ", " : "", tput_text);
    set_summary(s, slow || weak ? "fail" : "pass", "P50 %.3g ms, P99 %.3g ms, %.4g items/s (%s, batch %.0f, concurrency %s, "
                "%s threads); %s", p50, p99, tput, image[0] ? "the first test image, decoded on every request"
                : "the first test case", num(cfg, "batch"), conc, thr, targets);
}

/* A bar chart of the latency distribution (to P99.9: one slow outlier would flatten the rest; the maximum is
 * in the JSON report) with the stated P99 as a line. */
static void write_svg(FILE *f, const step *lat, double want_p99)
{
    const cJSON *cfg = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(lat->data, "configs"), 0);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(cfg, "latency_ms");
    static const char *const keys[] = {"min", "p50", "p90", "p99", "p99.9"};
    enum { N = sizeof keys / sizeof keys[0] };
    double v[N], top = want_p99;
    for (int i = 0; i < N; i++) v[i] = num(l, keys[i]), top = v[i] > top ? v[i] : top;
    if (top <= 0) top = 1;
    const int w = 560, h = 300, x0 = 60, y0 = 40, ph = 200, bw = 60;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%d\" y=\"22\" font-size=\"14\">Latency on this machine (ms)</text>\n", w, h, x0);
    for (int i = 0; i < N; i++) {
        double bh = v[i] / top * ph;
        int x = x0 + i * (bw + 16);
        fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#4878a8\"/>\n", x, y0 + ph - bh, bw, bh);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>\n", x + bw / 2, y0 + ph - bh - 4, v[i]);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x + bw / 2, y0 + ph + 16, keys[i]);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", x0 - 4, y0 + ph, x0 + N * (bw + 16), y0 + ph);
    if (want_p99 > 0) {
        double y = y0 + ph - want_p99 / top * ph;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c03030\" stroke-dasharray=\"6 4\"/>\n"
                   "<text x=\"%d\" y=\"%.1f\" fill=\"#c03030\">stated P99 %.3g ms</text>\n",
                x0 - 4, y, x0 + N * (bw + 16), y, x0, y - 4, want_p99);
    }
    fprintf(f, "</svg>\n");
}

/* accept.json (also on stdout with `print_json`), latency.svg and accept.md in `dir`, which exists. */
static int write_report(const char *dir, const char *bundle, const mdk_spec *spec, const char *digest, step *steps,
                        size_t n, cJSON *env, const char *overall, int print_json)
{
    char p[4200];
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "bundle", bundle);
    cJSON_AddStringToObject(root, "name", mdk_spec_name(spec));
    cJSON_AddStringToObject(root, "version", mdk_spec_version(spec));
    cJSON_AddStringToObject(root, "digest", digest);
    cJSON_AddStringToObject(root, "verdict", overall);
    cJSON_AddItemToObject(root, "environment", env);
    cJSON *js = cJSON_AddArrayToObject(root, "steps");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "step", steps[i].name);
        cJSON_AddStringToObject(o, "verdict", steps[i].verdict);
        cJSON_AddStringToObject(o, "summary", steps[i].summary);
        if (steps[i].data) cJSON_AddItemReferenceToObject(o, "report", steps[i].data);
        cJSON_AddItemToArray(js, o);
    }
    char *text = cJSON_Print(root);
    int rc = 0;
    FILE *f = NULL;
    if (!text || mdk_path_join(p, sizeof p, dir, "accept.json") != MDK_OK || !(f = fopen(p, "w")) ||
        fprintf(f, "%s\n", text) < 0 || fclose(f) != 0)
        rc = cli_error("accept", "cannot write the JSON report in '%s'", dir);
    if (!rc && print_json) printf("%s\n", text);
    free(text);
    double want_p99 = 0;
    mdk_spec_performance(spec, &want_p99, NULL);
    if (!rc && mdk_path_join(p, sizeof p, dir, "latency.svg") == MDK_OK && (f = fopen(p, "w"))) {
        write_svg(f, &steps[n - 1], want_p99);
        if (ferror(f) | fclose(f)) rc = cli_error("accept", "cannot write '%s'", p);
    } else if (!rc) {
        rc = cli_error("accept", "cannot write the chart in '%s'", dir);
    }
    if (!rc && mdk_path_join(p, sizeof p, dir, "accept.md") == MDK_OK && (f = fopen(p, "w"))) {
        fprintf(f, "# Acceptance of %s %s\n\n**Verdict: %s**\n\n", mdk_spec_name(spec), mdk_spec_version(spec), overall);
        fprintf(f, "Bundle `%s`, digest `%s`.\n\n| step | verdict | outcome |\n|---|---|---|\n", bundle, digest);
        for (size_t i = 0; i < n; i++) fprintf(f, "| %s | %s | %s |\n", steps[i].name, steps[i].verdict, steps[i].summary);
        fprintf(f, "\n![latency](latency.svg)\n\n## Environment\n\n| | |\n|---|---|\n");
        for (const cJSON *e = env ? env->child : NULL; e; e = e->next) {
            if (cJSON_IsString(e)) fprintf(f, "| %s | %s |\n", e->string, e->valuestring);
            else if (cJSON_IsNumber(e)) fprintf(f, "| %s | %g |\n", e->string, e->valuedouble);
        }
        const cJSON *probes = cJSON_GetObjectItemCaseSensitive(steps[1].data, "probes");
        if (probes) fprintf(f, "\n## Probes\n\n| probe | expectation | verdict | outcome |\n|---|---|---|---|\n");
        for (const cJSON *pr = probes ? probes->child : NULL; pr; pr = pr->next) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(pr, "probe"), *b = cJSON_GetObjectItemCaseSensitive(pr, "expectation"),
                        *c = cJSON_GetObjectItemCaseSensitive(pr, "verdict"), *d = cJSON_GetObjectItemCaseSensitive(pr, "detail");
            fprintf(f, "| %s | %s | %s | %s |\n", cJSON_IsString(a) ? a->valuestring : "", cJSON_IsString(b) ? b->valuestring : "",
                    cJSON_IsString(c) ? c->valuestring : "", cJSON_IsString(d) ? d->valuestring : "");
        }
        if (ferror(f) | fclose(f)) rc = cli_error("accept", "cannot write '%s'", p);
    } else if (!rc) {
        rc = cli_error("accept", "cannot write the Markdown report in '%s'", dir);
    }
    cJSON_Delete(root);
    return rc;
}

/* This machine and the software that ran the checks. */
static cJSON *environment(const step *lat)
{
    const cJSON *bench_env = cJSON_GetObjectItemCaseSensitive(lat->data, "environment");
    cJSON *env = cJSON_CreateObject();
    const char *keys[] = {"cpu", "cpu_flags", "logical_cores", "mdk", "onnxruntime"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(bench_env, keys[i]);
        if (v) cJSON_AddItemToObject(env, keys[i], cJSON_Duplicate(v, 1));
    }
    if (!cJSON_GetObjectItemCaseSensitive(env, "mdk")) cJSON_AddStringToObject(env, "mdk", mdk_version());
    if (!cJSON_GetObjectItemCaseSensitive(env, "onnxruntime")) cJSON_AddStringToObject(env, "onnxruntime", mdk_ort_version());
    struct utsname u;
    if (uname(&u) == 0) {
        char os[400];
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
        cJSON_AddStringToObject(env, "os", os);
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    cJSON_AddStringToObject(env, "date", when);
    return env;
}

static void usage(void)
{
    printf("usage: mdk accept BUNDLE [--report DIR] [--duration S] [--threads N] [--json]\n\n"
           "The receiver's one command, on their own hardware, for a bundle directory or .mdk archive:\n"
           "  1. integrity and test cases: every file against manifest.json, every test case through the whole\n"
           "     pipeline (mdk verify);\n"
           "  2. boundary probes, each in its own process (mdk check);\n"
           "  3. latency: a short run on the bundle's first test case (its image through the whole pipeline, or its\n"
           "     tensors) with the spec's runtime concurrency and threads, set against the performance the bundle\n"
           "     states (performance.p99_ms, throughput);\n"
           "  4. the environment: CPU, cores, OS, mdk and ONNX Runtime versions.\n"
           "Prints one line per step, and writes accept.md, accept.json, latency.svg and bench.json to DIR: a report to send\n"
           "back to the vendor. Exit status 0 when every step passes (warnings allowed), 1 otherwise.\n\n"
           "  --report DIR   where the report goes (default: accept-NAME-VERSION)\n"
           "  --duration S   seconds of the latency run (default 5)\n"
           "  --threads N    intra-op threads for the test cases and probes (default: the spec's)\n"
           "  --json         print the JSON report instead of the table\n");
}

int cmd_accept(int argc, char **argv)
{
    const char *bundle = NULL, *report = NULL;
    double duration = 5;
    long long threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (cli_is_help(argv[i])) {
            usage();
            return 0;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--report", &v))) {
            if (r < 0) return cli_usage_error("accept", "--report needs a directory");
            report = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--duration", &v))) {
            if (r < 0 || cli_parse_f64(v, &duration) != 0 || !(duration > 0) || duration > 3600)
                return cli_usage_error("accept", "--duration needs seconds, more than 0 and at most 3600");
        } else if ((r = cli_opt_value(argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, 1024, &threads) != 0)
                return cli_usage_error("accept", "--threads needs a number from 1 to 1024");
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if ((r = cli_positional("accept", argv[i], &bundle)) != 0) {
            return r;
        }
    }
    if (!bundle) return cli_usage_error("accept", "missing BUNDLE");
    if (!mdk_path_is_bundle(bundle))
        return cli_error("accept", "'%s' is not a bundle (a directory holding manifest.json, or a .mdk archive): "
                         "acceptance checks what a vendor delivered", bundle);
    mdk_bundle *b = NULL;
    mdk_status st = mdk_bundle_open(bundle, &b); /* refused here already when its integrity fails */
    if (st != MDK_OK) return cli_lib_error("accept", st);
    const mdk_spec *spec = mdk_bundle_spec(b);
    char dir[4096], bench_json[4200];
    if (report) snprintf(dir, sizeof dir, "%s", report);
    else snprintf(dir, sizeof dir, "accept-%s-%s", mdk_spec_name(spec), mdk_spec_version(spec));
    if (mdk_path_join(bench_json, sizeof bench_json, dir, "bench.json") != MDK_OK || cli_mkdirs(dir) != 0) {
        mdk_bundle_close(b);
        return cli_error("accept", "cannot create the report folder '%s'", dir);
    }

    step steps[3];
    memset(steps, 0, sizeof steps);
    static const char *const titles[] = {"integrity and test cases", "boundary probes", "latency"};
    for (int k = 0; k < 3; k++) {
        if (!json) fprintf(stderr, "[%d/3] %s...\n", k + 1, titles[k]);
        if (k == 0) step_verify(bundle, (int)threads, &steps[k]);
        else if (k == 1) step_check(bundle, (int)threads, &steps[k]);
        else step_latency(b, bundle, dir, duration, bench_json, &steps[k]);
    }
    const char *overall = "accepted";
    for (int k = 0; k < 3; k++)
        if (!strcmp(steps[k].verdict, "fail")) overall = "refused";
    cJSON *env = environment(&steps[2]);
    int rc = write_report(dir, bundle, spec, mdk_bundle_digest(b), steps, 3, env, overall, json);
    if (!rc && !json) {
        printf("%s %s (%s)\n", mdk_spec_name(spec), mdk_spec_version(spec), mdk_bundle_digest(b));
        for (int k = 0; k < 3; k++) printf("%-5s %-25s %s\n", steps[k].verdict, steps[k].name, steps[k].summary);
        printf("%s: report in %s/accept.md (also accept.json, latency.svg)\n", overall, dir);
    }
    for (int k = 0; k < 3; k++) cJSON_Delete(steps[k].data);
    mdk_bundle_close(b);
    if (rc) return rc;
    return strcmp(overall, "accepted") == 0 ? 0 : CLI_EXIT_FAIL;
}
