/* main.c: the mdk command: global options and dispatch to one function per verb. */
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} g_verbs[] = {
    {"inspect", cmd_inspect, "inputs, outputs, opsets, operators, parameters and metadata of an ONNX model"},
    {"run", cmd_run, "one inference: tensor files, random data, or images through a spec's pipeline"},
    {"preprocess", cmd_preprocess, "a spec's preprocessing only: images to an input tensor"},
    {"pack", cmd_pack, "build a verified delivery bundle from a spec"},
    {"bench", cmd_bench, "latency, throughput, memory and load time over batch x threads x concurrency"},
    {"check", cmd_check, "boundary probes (empty, malformed, NaN, huge batch, broken images), each in its own process"},
    {"tune", cmd_tune, "search threads, execution mode, optimization level, batch and concurrency for an objective"},
    {"accept", cmd_accept, "the receiver's one command: integrity, test cases, probes, latency, a report to send back"},
    {"serve", cmd_serve, "serve models over HTTP: Open Inference Protocol v2, image upload, Swagger docs, metrics"},
    {"diff", cmd_diff, "interface changes between two bundles: compatible or breaking"},
    {"verify", cmd_verify, "check a bundle's integrity and test cases, or a model against test cases"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mdk [--version] [--help] VERB [ARGS...]\n\n"
               "mdk, the Model Delivery Kit: inspect, run, verify and feed ONNX models on ONNX Runtime.\n\nverbs:\n");
    for (size_t i = 0; i < sizeof g_verbs / sizeof g_verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", g_verbs[i].name, g_verbs[i].summary);
    fprintf(f, "\n'mdk VERB --help' describes a verb. Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("mdk %s\nONNX Runtime %s\n", mdk_version(), mdk_ort_version());
        if (strcmp(mdk_version(), MDK_VERSION_STRING) != 0)
            fprintf(stderr, "mdk: warning: built against headers %s but libmdk is %s\n", MDK_VERSION_STRING, mdk_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof g_verbs / sizeof g_verbs[0]; i++)
        if (strcmp(argv[1], g_verbs[i].name) == 0) return g_verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mdk: unknown verb '%s' (see 'mdk --help')\n", argv[1]);
    return CLI_EXIT_USAGE;
}
