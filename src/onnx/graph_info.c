/* graph_info.c: what `mdk inspect` reports about an ONNX file, read straight from its protobuf. */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_int.h"

/* Subgraphs (If/Loop/Scan bodies) nest; deeper nesting than this is refused rather than recursed into. */
#define GRAPH_MAX_DEPTH 64

typedef struct info_priv {
    mdk_graph_info pub; /* first: the public pointer is the private one */
    Onnx__ModelProto *model;
    mdk_value_info *values;
    mdk_dim *dims;
    mdk_opset *opsets;
    mdk_op_count *ops;
    size_t ops_cap;
    mdk_meta_prop *meta;
} info_priv;

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static size_t count_dims(const Onnx__ValueInfoProto *v)
{
    const Onnx__TypeProto *t = v->type;
    while (t && (t->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
                 t->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)) {
        t = t->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? t->sequence_type->elem_type
                                                                   : t->optional_type->elem_type;
    }
    if (t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type->shape)
        return t->tensor_type->shape->n_dim;
    return 0;
}

/* Fills `out` from a ValueInfoProto, taking dims from `*dims` (advanced past what it uses). */
static void value_from_proto(const Onnx__ValueInfoProto *v, mdk_value_info *out, mdk_dim **dims)
{
    memset(out, 0, sizeof *out);
    out->name = str_or_empty(v->name);
    out->doc = str_or_empty(v->doc_string);
    out->kind = MDK_VALUE_OTHER;
    const Onnx__TypeProto *t = v->type;
    if (!t) return;
    if (t->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) {
        out->kind = MDK_VALUE_SEQUENCE;
        t = t->sequence_type->elem_type;
    } else if (t->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) {
        out->kind = MDK_VALUE_OPTIONAL;
        t = t->optional_type->elem_type;
    } else if (t->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE) {
        out->kind = MDK_VALUE_MAP;
        return;
    } else if (t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        out->kind = MDK_VALUE_TENSOR;
    }
    while (t && t->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) t = t->sequence_type->elem_type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) return;
    out->dtype = t->tensor_type->has_elem_type ? (mdk_dtype)t->tensor_type->elem_type : MDK_DTYPE_UNDEFINED;
    const Onnx__TensorShapeProto *s = t->tensor_type->shape;
    if (!s) return;
    out->has_shape = 1;
    out->ndim = s->n_dim;
    out->dims = *dims;
    for (size_t i = 0; i < s->n_dim; i++) {
        mdk_dim *d = &(*dims)[i];
        d->value = -1;
        d->param = NULL;
        if (s->dim[i]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) d->value = s->dim[i]->dim_value;
        else if (s->dim[i]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            d->param = s->dim[i]->dim_param;
    }
    *dims += s->n_dim;
}

static mdk_status count_op(info_priv *p, const char *domain, const char *op)
{
    for (size_t i = 0; i < p->pub.n_op_types; i++)
        if (strcmp(p->ops[i].op_type, op) == 0 && strcmp(p->ops[i].domain, domain) == 0) {
            p->ops[i].count++;
            return MDK_OK;
        }
    if (p->pub.n_op_types == p->ops_cap) {
        size_t cap = p->ops_cap ? p->ops_cap * 2 : 32;
        mdk_op_count *grown = mdki_realloc(p->ops, cap * sizeof *grown);
        if (!grown) return MDK_ERR_NO_MEMORY;
        p->ops = grown;
        p->ops_cap = cap;
    }
    p->ops[p->pub.n_op_types++] = (mdk_op_count){domain, op, 1};
    return MDK_OK;
}

static int str_in(const char *s, char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] && strcmp(set[i], s) == 0) return 1;
    return 0;
}

static void count_params(info_priv *p, const Onnx__TensorProto *t)
{
    uint64_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) n *= t->dims[d] > 0 ? (uint64_t)t->dims[d] : 0;
    p->pub.n_params += n;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        p->pub.has_external_data = 1;
    if (t->has_data_type && t->data_type == MDK_DTYPE_STRING) {
        for (size_t k = 0; k < t->n_string_data; k++) p->pub.param_bytes += t->string_data[k].len;
    } else if (t->has_data_type) {
        p->pub.param_bytes += n * mdk_dtype_size((mdk_dtype)t->data_type);
    }
}

static mdk_status walk_graph(info_priv *p, const Onnx__GraphProto *g, int depth)
{
    if (depth > GRAPH_MAX_DEPTH)
        return mdki_fail(MDK_ERR_TOO_LARGE, "subgraphs nest deeper than %d levels", GRAPH_MAX_DEPTH);
    for (size_t i = 0; i < g->n_initializer; i++) {
        count_params(p, g->initializer[i]);
        p->pub.n_initializers++;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *nd = g->node[i];
        p->pub.n_nodes++;
        mdk_status st = count_op(p, str_or_empty(nd->domain), str_or_empty(nd->op_type));
        if (st != MDK_OK) return st;
        int is_constant = nd->op_type && strcmp(nd->op_type, "Constant") == 0 && (!nd->domain || !*nd->domain);
        for (size_t a = 0; a < nd->n_attribute; a++) {
            const Onnx__AttributeProto *at = nd->attribute[a];
            if (is_constant && at->t) {
                count_params(p, at->t);
                p->pub.n_constants++;
            }
            if (at->g && (st = walk_graph(p, at->g, depth + 1)) != MDK_OK) return st;
            for (size_t k = 0; k < at->n_graphs; k++)
                if ((st = walk_graph(p, at->graphs[k], depth + 1)) != MDK_OK) return st;
        }
    }
    return MDK_OK;
}

static int op_cmp(const void *a, const void *b)
{
    const mdk_op_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    int c = strcmp(x->domain, y->domain);
    return c ? c : strcmp(x->op_type, y->op_type);
}

void mdk_graph_info_free(mdk_graph_info *info)
{
    info_priv *p = (info_priv *)info;
    if (!p) return;
    if (p->model) onnx__model_proto__free_unpacked(p->model, &mdki_pb_allocator);
    mdki_free(p->values);
    mdki_free(p->dims);
    mdki_free(p->opsets);
    mdki_free(p->ops);
    mdki_free(p->meta);
    mdki_free(p);
}

mdk_status mdk_graph_info_read_memory(const void *data, size_t len, const char *what, mdk_graph_info **out)
{
    if ((!data && len) || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_graph_info_read_memory: NULL argument");
    if (!what) what = "model";
    if (len == 0) return mdki_fail(MDK_ERR_FORMAT, "%s: empty file, expected an ONNX model", what);
    if (len > MDK_MODEL_MAX_BYTES) return mdki_fail(MDK_ERR_TOO_LARGE, "%s: larger than 2 GiB", what);
    info_priv *p = mdki_calloc(1, sizeof *p);
    if (!p) return MDK_ERR_NO_MEMORY;
    mdk_status st;
    p->pub.file_bytes = len;
    unsigned long failures = mdki_alloc_failures();
    p->model = onnx__model_proto__unpack(&mdki_pb_allocator, len, data);
    if (!p->model && mdki_alloc_failures() != failures) {
        st = mdki_fail(MDK_ERR_NO_MEMORY, "%s: out of memory", what);
        goto fail;
    }
    if (!p->model) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: not an ONNX model (protobuf parse failed: truncated or another file type)",
                       what);
        goto fail;
    }
    const Onnx__ModelProto *m = p->model;
    if (!m->graph || !m->has_ir_version) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: not an ONNX model (no %s)", what, m->graph ? "ir_version" : "graph");
        goto fail;
    }
    const Onnx__GraphProto *g = m->graph;
    p->pub.ir_version = m->ir_version;
    p->pub.producer_name = str_or_empty(m->producer_name);
    p->pub.producer_version = str_or_empty(m->producer_version);
    p->pub.domain = str_or_empty(m->domain);
    p->pub.model_version = m->has_model_version ? m->model_version : 0;
    p->pub.doc = str_or_empty(m->doc_string);
    p->pub.graph_name = str_or_empty(g->name);

    p->opsets = mdki_calloc(m->n_opset_import ? m->n_opset_import : 1, sizeof *p->opsets);
    if (!p->opsets) goto oom;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        p->opsets[i].domain = str_or_empty(m->opset_import[i]->domain);
        p->opsets[i].version = m->opset_import[i]->has_version ? m->opset_import[i]->version : 0;
    }
    p->pub.n_opsets = m->n_opset_import;
    p->pub.opsets = p->opsets;

    /* Inputs that are initializers (IR < 4 lists them) have defaults: only the others are fed. */
    char **init_names = mdki_calloc(g->n_initializer ? g->n_initializer : 1, sizeof *init_names);
    if (!init_names) goto oom;
    for (size_t i = 0; i < g->n_initializer; i++) init_names[i] = g->initializer[i]->name;
    size_t ndims = 0, nvals = 0;
    for (size_t i = 0; i < g->n_input; i++) ndims += count_dims(g->input[i]), nvals++;
    for (size_t i = 0; i < g->n_output; i++) ndims += count_dims(g->output[i]), nvals++;
    p->values = mdki_calloc(nvals ? nvals : 1, sizeof *p->values);
    p->dims = mdki_calloc(ndims ? ndims : 1, sizeof *p->dims);
    if (!p->values || !p->dims) {
        mdki_free(init_names);
        goto oom;
    }
    mdk_dim *dcur = p->dims;
    size_t vi = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        if (g->input[i]->name && str_in(g->input[i]->name, init_names, g->n_initializer)) continue;
        value_from_proto(g->input[i], &p->values[vi++], &dcur);
    }
    mdki_free(init_names);
    p->pub.n_inputs = vi;
    p->pub.inputs = p->values;
    for (size_t i = 0; i < g->n_output; i++) value_from_proto(g->output[i], &p->values[vi++], &dcur);
    p->pub.n_outputs = vi - p->pub.n_inputs;
    p->pub.outputs = p->values + p->pub.n_inputs;

    st = walk_graph(p, g, 0);
    if (st != MDK_OK) {
        mdki_fail_prefix(st, "%s", what);
        goto fail;
    }
    for (size_t f = 0; f < m->n_functions; f++)
        for (size_t i = 0; i < m->functions[f]->n_node; i++) {
            p->pub.n_nodes++;
            st = count_op(p, str_or_empty(m->functions[f]->node[i]->domain), str_or_empty(m->functions[f]->node[i]->op_type));
            if (st != MDK_OK) goto fail;
        }
    if (p->pub.n_op_types) qsort(p->ops, p->pub.n_op_types, sizeof *p->ops, op_cmp);
    p->pub.ops = p->ops;

    p->meta = mdki_calloc(m->n_metadata_props ? m->n_metadata_props : 1, sizeof *p->meta);
    if (!p->meta) goto oom;
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        p->meta[i].key = str_or_empty(m->metadata_props[i]->key);
        p->meta[i].value = str_or_empty(m->metadata_props[i]->value);
    }
    p->pub.n_meta = m->n_metadata_props;
    p->pub.meta = p->meta;
    *out = &p->pub;
    return MDK_OK;
oom:
    st = MDK_ERR_NO_MEMORY;
fail:
    mdk_graph_info_free(&p->pub);
    return st;
}

mdk_status mdk_graph_info_read(const char *path, mdk_graph_info **out)
{
    char *data;
    size_t len;
    if (!path || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_graph_info_read: NULL argument");
    mdk_status st = mdki_read_file(path, MDK_MODEL_MAX_BYTES, "model", &data, &len);
    if (st != MDK_OK) return st;
    st = mdk_graph_info_read_memory(data, len, path, out);
    mdki_free(data);
    return st;
}
