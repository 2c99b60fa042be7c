/* cmd_serve.c: `mdk serve REPOSITORY|BUNDLE...`: options, signals (SIGTERM/SIGINT: graceful stop; SIGHUP:
 * re-read API keys) and the server's start and stop order. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "server.h"

static volatile sig_atomic_t g_signal;

static void on_signal(int sig) { g_signal = sig; }

static void help(void)
{
    printf("usage: mdk serve REPOSITORY|BUNDLE|MODEL.onnx|SPEC... [options]\n\n"
           "Serves models over HTTP/1.1: the Open Inference Protocol v2 (KServe, Triton clients) with the binary\n"
           "tensor extension, POST /v1/models/NAME/predict for an image upload (bundles and specs with\n"
           "preprocessing; a spec (mdk.yaml) is served as it is, for a vendor trying it before packing),\n"
           "/openapi.json and Swagger UI at /docs, Prometheus /metrics and the v2 repository extension.\n"
           "A repository holds NAME/VERSION/ bundle folders (or NAME/VERSION.mdk), or bundles as mdk pack writes\n"
           "them; every bundle is integrity-checked before it serves, and the newest version is the default.\n"
           "New versions appearing in the repository are loaded in the background and switched in atomically.\n"
           "SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0. SIGHUP: re-read --api-keys.\n\n"
           "  --host ADDR            IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)\n"
           "  --port N               TCP port (default 8080; 0 picks a free one, printed on start)\n"
           "  --http-threads N       HTTP threads (default 4)\n"
           "  --workers N            inference workers per model version (default: runtime.concurrency, else cores)\n"
           "  --threads N            intra-op threads per worker (default: runtime.threads, else 1)\n"
           "  --max-batch-size N     dynamic batching: requests run together (default: runtime.batch, else 1 = off)\n"
           "  --max-queue-delay-us N how long a batch waits to fill (default 500)\n"
           "  --max-body-bytes N     larger request bodies get 413 (default 64 MiB)\n"
           "  --max-image-pixels N   larger images get 413 (default: the bundle's limit, else 100 megapixels)\n"
           "  --max-inflight N       requests admitted at once; beyond it 429 (default 256)\n"
           "  --request-timeout-ms N admitted requests waiting longer than this for a worker get 503 (default 30000)\n"
           "  --poll S               seconds between repository scans for new versions (default 2; 0: off)\n"
           "  --verify               run every bundle's test cases before serving it\n"
           "  --api-keys FILE        require 'Authorization: Bearer KEY' with a key from FILE (one per line)\n"
           "  --tls-cert FILE --tls-key FILE  serve HTTPS\n"
           "  --access-log FILE      one JSON line per request ('-': stderr)\n");
}

static int num(const char *verb, const char *opt, const char *v, long long lo, long long hi, long long *out)
{
    if (!v || cli_parse_i64(v, lo, hi, out)) return cli_usage_error(verb, "%s needs an integer from %lld to %lld", opt, lo, hi);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    srv_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "127.0.0.1", cfg.port = 8080, cfg.http_threads = 4, cfg.max_queue_delay_us = 500;
    cfg.max_body_bytes = 64u << 20, cfg.max_inflight = 256, cfg.request_timeout_ms = 30000, cfg.poll_s = 2;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    if (!paths) return cli_error("serve", "out of memory");
    size_t n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        long long n;
        if (cli_is_help(argv[i])) {
            help();
            free(paths);
            return 0;
        }
#define INT_OPT(name, lo, hi, field)                                                                                       \
    if ((r = cli_opt_value(argc, argv, &i, name, &v))) {                                                                   \
        if (r < 0 || num("serve", name, v, lo, hi, &n)) return free(paths), CLI_EXIT_USAGE;                               \
        field = n;                                                                                                         \
        continue;                                                                                                          \
    }
        INT_OPT("--port", 0, 65535, cfg.port)
        INT_OPT("--http-threads", 1, 256, cfg.http_threads)
        INT_OPT("--workers", 1, 256, cfg.workers)
        INT_OPT("--threads", 1, 256, cfg.threads)
        INT_OPT("--max-batch-size", 1, 1024, cfg.max_batch_size)
        INT_OPT("--max-queue-delay-us", 0, 10000000, cfg.max_queue_delay_us)
        INT_OPT("--max-body-bytes", 1024, 4LL << 30, cfg.max_body_bytes)
        INT_OPT("--max-image-pixels", 1, 1LL << 40, cfg.max_image_pixels)
        INT_OPT("--max-inflight", 1, 1000000, cfg.max_inflight)
        INT_OPT("--request-timeout-ms", 0, 86400000, cfg.request_timeout_ms)
#undef INT_OPT
        if ((r = cli_opt_value(argc, argv, &i, "--poll", &v))) {
            if (r < 0 || cli_parse_f64(v, &cfg.poll_s) || cfg.poll_s < 0 || cfg.poll_s > 86400)
                return free(paths), cli_usage_error("serve", "--poll needs seconds >= 0");
        } else if ((r = cli_opt_value(argc, argv, &i, "--host", &v))) {
            if (r < 0) return free(paths), cli_usage_error("serve", "--host needs an address");
            cfg.host = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--api-keys", &v))) {
            if (r < 0) return free(paths), cli_usage_error("serve", "--api-keys needs a file");
            cfg.api_keys_file = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--tls-cert", &v))) {
            if (r < 0) return free(paths), cli_usage_error("serve", "--tls-cert needs a PEM file");
            cfg.tls_cert = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--tls-key", &v))) {
            if (r < 0) return free(paths), cli_usage_error("serve", "--tls-key needs a PEM file");
            cfg.tls_key = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--access-log", &v))) {
            if (r < 0) return free(paths), cli_usage_error("serve", "--access-log needs a file or -");
            cfg.access_log = v;
        } else if (strcmp(argv[i], "--verify") == 0) {
            cfg.verify_on_load = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return free(paths), cli_usage_error("serve", "unknown option '%s'", argv[i]);
        } else {
            paths[n_paths++] = argv[i];
        }
    }
    if (!n_paths) return free(paths), cli_usage_error("serve", "missing REPOSITORY, BUNDLE or MODEL.onnx");
    if (!cfg.tls_cert != !cfg.tls_key) return free(paths), cli_usage_error("serve", "--tls-cert and --tls-key go together");
    cfg.paths = paths, cfg.n_paths = n_paths;
    /* the signals are blocked in every thread (they inherit the mask) and taken by sigsuspend below */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM), sigaddset(&block, SIGINT), sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &orig);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    srv_metrics_start((double)ts.tv_sec + ts.tv_nsec * 1e-9);
    if (srv_repo_start(&cfg) != 0) {
        srv_repo_stop();
        free(paths);
        return CLI_EXIT_FAIL;
    }
    if (srv_http_start(&cfg) != 0) {
        srv_repo_stop();
        free(paths);
        return CLI_EXIT_FAIL;
    }
    fprintf(stderr, "mdk serve: listening on %s://%s:%d (docs at /docs)\n", cfg.tls_cert ? "https" : "http", cfg.host,
            srv_http_port());
    printf("%d\n", srv_http_port());
    fflush(stdout);
    for (;;) {
        sigsuspend(&orig);
        if (g_signal == SIGHUP) {
            g_signal = 0;
            srv_http_reload_keys();
            continue;
        }
        if (g_signal) break;
    }
    fprintf(stderr, "mdk serve: %s: finishing %d requests in flight\n", strsignal(g_signal), srv_http_inflight());
    srv_http_stop();
    srv_repo_stop();
    fprintf(stderr, "mdk serve: stopped\n");
    free(paths);
    return 0;
}
