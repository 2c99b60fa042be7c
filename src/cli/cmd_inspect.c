/* cmd_inspect.c: `mdk inspect MODEL [--json]`: the model's interface and contents, read from its graph, for
 * every form of a model (bare .onnx, spec, bundle directory, .mdk archive). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *kind_name(mdk_value_kind k)
{
    switch (k) {
    case MDK_VALUE_TENSOR: return "tensor";
    case MDK_VALUE_SEQUENCE: return "sequence";
    case MDK_VALUE_MAP: return "map";
    case MDK_VALUE_OPTIONAL: return "optional";
    default: return "other";
    }
}

static void shape_text(const mdk_value_info *v, char *buf, size_t size)
{
    if (!v->has_shape) {
        snprintf(buf, size, "(rank unknown)");
        return;
    }
    size_t used = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < v->ndim && used < size; i++) {
        if (v->dims[i].value >= 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)v->dims[i].value);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", v->dims[i].param ? v->dims[i].param : "?");
    }
    if (used < size) snprintf(buf + used, size - used, "]");
}

static const char *human_bytes(uint64_t n, char *buf, size_t size)
{
    if (n < 1024) snprintf(buf, size, "%llu B", (unsigned long long)n);
    else if (n < 1024 * 1024) snprintf(buf, size, "%.1f KiB", n / 1024.0);
    else if (n < 1024ull * 1024 * 1024) snprintf(buf, size, "%.1f MiB", n / (1024.0 * 1024));
    else snprintf(buf, size, "%.2f GiB", n / (1024.0 * 1024 * 1024));
    return buf;
}

static void print_values(const char *title, const mdk_value_info *vs, size_t n)
{
    printf("%s\n", title);
    size_t w = 4;
    for (size_t i = 0; i < n; i++)
        if (strlen(vs[i].name) > w) w = strlen(vs[i].name);
    for (size_t i = 0; i < n; i++) {
        char shape[512];
        shape_text(&vs[i], shape, sizeof shape);
        printf("  %-*s  %s%s%-8s %s\n", (int)w, vs[i].name, vs[i].kind == MDK_VALUE_TENSOR ? "" : kind_name(vs[i].kind),
               vs[i].kind == MDK_VALUE_TENSOR ? "" : " of ", mdk_dtype_name(vs[i].dtype), shape);
    }
}

static cJSON *values_json(const mdk_value_info *vs, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", vs[i].name);
        cJSON_AddStringToObject(o, "kind", kind_name(vs[i].kind));
        cJSON_AddStringToObject(o, "dtype", mdk_dtype_name(vs[i].dtype));
        if (vs[i].has_shape) {
            cJSON *shape = cJSON_AddArrayToObject(o, "shape");
            for (size_t k = 0; k < vs[i].ndim; k++) {
                if (vs[i].dims[k].value >= 0) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)vs[i].dims[k].value));
                else if (vs[i].dims[k].param) cJSON_AddItemToArray(shape, cJSON_CreateString(vs[i].dims[k].param));
                else cJSON_AddItemToArray(shape, cJSON_CreateNull());
            }
        } else {
            cJSON_AddNullToObject(o, "shape");
        }
        if (*vs[i].doc) cJSON_AddStringToObject(o, "doc", vs[i].doc);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* Where the model came from, when it is not a bare model: the bundle or spec around it. */
typedef struct origin {
    const char *kind;      /* "bundle", "spec" or NULL */
    char name[160], version[80], digest[80], model[4096];
} origin;

static int print_json(const char *path, const origin *from, const mdk_graph_info *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", path);
    if (from->kind) {
        cJSON *b = cJSON_AddObjectToObject(o, from->kind);
        cJSON_AddStringToObject(b, "name", from->name);
        cJSON_AddStringToObject(b, "version", from->version);
        if (from->digest[0]) cJSON_AddStringToObject(b, "digest", from->digest);
        cJSON_AddStringToObject(b, "model", from->model);
    }
    cJSON_AddNumberToObject(o, "file_bytes", (double)g->file_bytes);
    cJSON_AddNumberToObject(o, "ir_version", (double)g->ir_version);
    cJSON_AddStringToObject(o, "producer_name", g->producer_name);
    cJSON_AddStringToObject(o, "producer_version", g->producer_version);
    cJSON_AddStringToObject(o, "domain", g->domain);
    cJSON_AddNumberToObject(o, "model_version", (double)g->model_version);
    cJSON_AddStringToObject(o, "doc", g->doc);
    cJSON_AddStringToObject(o, "graph_name", g->graph_name);
    cJSON *ops = cJSON_AddArrayToObject(o, "opset_imports");
    for (size_t i = 0; i < g->n_opsets; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "domain", g->opsets[i].domain);
        cJSON_AddNumberToObject(x, "version", (double)g->opsets[i].version);
        cJSON_AddItemToArray(ops, x);
    }
    cJSON_AddItemToObject(o, "inputs", values_json(g->inputs, g->n_inputs));
    cJSON_AddItemToObject(o, "outputs", values_json(g->outputs, g->n_outputs));
    cJSON_AddNumberToObject(o, "nodes", (double)g->n_nodes);
    cJSON *hist = cJSON_AddArrayToObject(o, "operators");
    for (size_t i = 0; i < g->n_op_types; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "op_type", g->ops[i].op_type);
        cJSON_AddStringToObject(x, "domain", g->ops[i].domain);
        cJSON_AddNumberToObject(x, "count", (double)g->ops[i].count);
        cJSON_AddItemToArray(hist, x);
    }
    cJSON_AddNumberToObject(o, "initializers", (double)g->n_initializers);
    cJSON_AddNumberToObject(o, "constants", (double)g->n_constants);
    cJSON_AddNumberToObject(o, "parameters", (double)g->n_params);
    cJSON_AddNumberToObject(o, "parameter_bytes", (double)g->param_bytes);
    cJSON_AddBoolToObject(o, "external_data", g->has_external_data);
    cJSON *meta = cJSON_AddObjectToObject(o, "metadata_props");
    for (size_t i = 0; i < g->n_meta; i++) cJSON_AddStringToObject(meta, g->meta[i].key, g->meta[i].value);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s) return cli_error("inspect", "out of memory");
    puts(s);
    free(s);
    return 0;
}

static void print_text(const char *path, const origin *from, const mdk_graph_info *g)
{
    char b1[64], b2[64];
    if (from->kind)
        printf("%-12s %s %s%s%s (%s)\n", from->kind, from->name, from->version, from->digest[0] ? ", " : "", from->digest, path);
    printf("model        %s (%s)\n", from->kind ? from->model : path, human_bytes(g->file_bytes, b1, sizeof b1));
    printf("format       ONNX IR %lld, producer %s%s%s, model version %lld\n", (long long)g->ir_version,
           *g->producer_name ? g->producer_name : "(none)", *g->producer_version ? " " : "", g->producer_version,
           (long long)g->model_version);
    if (*g->domain) printf("domain       %s\n", g->domain);
    if (*g->doc) printf("doc          %s\n", g->doc);
    printf("opsets       ");
    for (size_t i = 0; i < g->n_opsets; i++)
        printf("%s%s %lld", i ? ", " : "", *g->opsets[i].domain ? g->opsets[i].domain : "ai.onnx",
               (long long)g->opsets[i].version);
    printf("\n");
    print_values("inputs", g->inputs, g->n_inputs);
    print_values("outputs", g->outputs, g->n_outputs);
    printf("parameters   %llu (%s) in %zu initializers and %zu constants%s\n", (unsigned long long)g->n_params,
           human_bytes(g->param_bytes, b2, sizeof b2), g->n_initializers, g->n_constants,
           g->has_external_data ? ", some in external files" : "");
    printf("nodes        %zu, %zu operator types\n", g->n_nodes, g->n_op_types);
    printf("operators    ");
    for (size_t i = 0; i < g->n_op_types; i++)
        printf("%s%s%s%s %zu", i ? ", " : "", g->ops[i].domain, *g->ops[i].domain ? "." : "", g->ops[i].op_type,
               g->ops[i].count);
    printf("\n");
    if (g->n_meta) {
        printf("metadata\n");
        for (size_t i = 0; i < g->n_meta; i++) printf("  %s = %s\n", g->meta[i].key, g->meta[i].value);
    }
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src); /* names and versions are capped by the spec reader below these sizes */
}

/* The graph of a model in any form: a bundle's model/model.onnx read from the bundle (checked against its
 * manifest), a spec's model file, or the file itself. 0, or the exit status after printing the error. */
static int open_graph(const char *path, origin *from, mdk_graph_info **g)
{
    if (mdk_path_is_bundle(path)) {
        mdk_bundle *b = NULL;
        char *data = NULL;
        size_t len = 0;
        mdk_status st = mdk_bundle_open(path, &b);
        if (st == MDK_OK) st = mdk_bundle_read_file(b, "model/model.onnx", (uint64_t)2 << 30, &data, &len);
        if (st == MDK_OK) st = mdk_graph_info_read_memory(data, len, "model/model.onnx", g);
        if (st == MDK_OK) {
            from->kind = "bundle";
            copy(from->name, sizeof from->name, mdk_spec_name(mdk_bundle_spec(b)));
            copy(from->version, sizeof from->version, mdk_spec_version(mdk_bundle_spec(b)));
            copy(from->digest, sizeof from->digest, mdk_bundle_digest(b));
            copy(from->model, sizeof from->model, "model/model.onnx");
        }
        mdk_free(data);
        mdk_bundle_close(b);
        return st == MDK_OK ? 0 : cli_lib_error("inspect", st);
    }
    size_t n = strlen(path);
    struct stat sb;
    int is_spec = (n > 5 && strcmp(path + n - 5, ".yaml") == 0) || (n > 4 && strcmp(path + n - 4, ".yml") == 0) ||
                  (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
    if (!is_spec) {
        mdk_status st = mdk_graph_info_read(path, g);
        return st == MDK_OK ? 0 : cli_lib_error("inspect", st);
    }
    mdk_spec *spec = NULL;
    mdk_status st = mdk_spec_read(path, &spec);
    if (st != MDK_OK) return cli_lib_error("inspect", st);
    int rc = 0;
    if (!*mdk_spec_model_path(spec)) rc = cli_error("inspect", "%s names no model (expected 'model: FILE.onnx')", path);
    else if (strlen(mdk_spec_model_path(spec)) >= sizeof from->model)
        rc = cli_error("inspect", "the model path of %s is too long", path);
    else if ((st = mdk_graph_info_read(mdk_spec_model_path(spec), g)) != MDK_OK) rc = cli_lib_error("inspect", st);
    if (!rc) {
        from->kind = "spec";
        copy(from->name, sizeof from->name, mdk_spec_name(spec));
        copy(from->version, sizeof from->version, mdk_spec_version(spec));
        copy(from->model, sizeof from->model, mdk_spec_model_path(spec));
    }
    mdk_spec_free(spec);
    return rc;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, rc;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: mdk inspect MODEL [--json]\n\n"
                   "MODEL is a bare .onnx, a spec (mdk.yaml), a bundle directory or a .mdk archive (checked first).\n"
                   "Reads the ONNX model's graph (without loading it into ONNX Runtime) and prints its inputs and outputs\n"
                   "(dtypes, shapes with symbolic dims by name), opset imports, producer, operator histogram, parameter\n"
                   "count and bytes, and metadata_props.\n\n"
                   "  --json   print one JSON object instead of text\n");
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if ((rc = cli_positional("inspect", argv[i], &path)) != 0) return rc;
    }
    if (!path) return cli_usage_error("inspect", "missing MODEL");
    origin from = {0};
    mdk_graph_info *g = NULL;
    if ((rc = open_graph(path, &from, &g)) != 0) return rc;
    if (json) rc = print_json(path, &from, g);
    else print_text(path, &from, g);
    mdk_graph_info_free(g);
    return rc;
}
