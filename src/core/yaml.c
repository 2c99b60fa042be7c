/* yaml.c: libyaml's event stream turned into a tree with positions, under caps. */
#include <string.h>
#include <yaml.h>

#include "core/yaml.h"

typedef struct builder {
    yaml_parser_t parser;
    const char *file;
    size_t nodes;
} builder;

static void node_free(mdki_ynode *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n * (n->type == MDKI_Y_MAP ? 2 : 1); i++) node_free(n->items[i]);
    mdki_free(n->items);
    mdki_free(n->scalar);
    mdki_free(n);
}

void mdki_yaml_free(mdki_ydoc *doc)
{
    if (!doc) return;
    node_free(doc->root);
    mdki_free(doc->file);
    mdki_free(doc);
}

static mdk_status fail_at(builder *b, const yaml_mark_t *m, const char *what)
{
    return mdki_fail(MDK_ERR_FORMAT, "%s:%zu:%zu: %s", b->file, m->line + 1, m->column + 1, what);
}

/* Reads one node starting with `ev` (already taken from the parser). */
static mdk_status read_node(builder *b, yaml_event_t *ev, int depth, mdki_ynode **out)
{
    if (depth > MDKI_YAML_MAX_DEPTH) return fail_at(b, &ev->start_mark, "nesting deeper than 32 levels");
    if (++b->nodes > MDKI_YAML_MAX_NODES) return fail_at(b, &ev->start_mark, "more than 100000 nodes");
    if (ev->type == YAML_ALIAS_EVENT) return fail_at(b, &ev->start_mark, "aliases (*name) are not supported");
    mdki_ynode *n = mdki_calloc(1, sizeof *n);
    if (!n) return MDK_ERR_NO_MEMORY;
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    mdk_status st = MDK_OK;
    if (ev->type == YAML_SCALAR_EVENT) {
        if (ev->data.scalar.anchor) {
            st = fail_at(b, &ev->start_mark, "anchors (&name) are not supported");
        } else {
            n->type = MDKI_Y_SCALAR;
            n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                        ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
            n->scalar = mdki_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
            if (!n->scalar) st = MDK_ERR_NO_MEMORY;
        }
        *out = n;
        return st;
    }
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (!is_map && ev->type != YAML_SEQUENCE_START_EVENT) {
        mdki_free(n);
        return fail_at(b, &ev->start_mark, "unexpected YAML structure");
    }
    if ((is_map && ev->data.mapping_start.anchor) || (!is_map && ev->data.sequence_start.anchor)) {
        mdki_free(n);
        return fail_at(b, &ev->start_mark, "anchors (&name) are not supported");
    }
    n->type = is_map ? MDKI_Y_MAP : MDKI_Y_SEQ;
    size_t cap = 0, len = 0;
    for (;;) {
        yaml_event_t child;
        if (!yaml_parser_parse(&b->parser, &child)) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s:%zu:%zu: %s", b->file, b->parser.problem_mark.line + 1,
                           b->parser.problem_mark.column + 1, b->parser.problem ? b->parser.problem : "invalid YAML");
            break;
        }
        if (child.type == YAML_MAPPING_END_EVENT || child.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&child);
            break;
        }
        mdki_ynode *c = NULL;
        st = read_node(b, &child, depth + 1, &c);
        yaml_event_delete(&child);
        if (st == MDK_OK && is_map && (len % 2 == 0) && c->type != MDKI_Y_SCALAR)
            st = mdki_fail(MDK_ERR_FORMAT, "%s:%d:%d: mapping keys must be plain scalars", b->file, c->line, c->col);
        if (st == MDK_OK && is_map && len % 2 == 0 && c->scalar)
            for (size_t k = 0; k < len; k += 2)
                if (strcmp(n->items[k]->scalar, c->scalar) == 0) {
                    st = mdki_fail(MDK_ERR_FORMAT, "%s:%d:%d: key '%s' appears twice", b->file, c->line, c->col, c->scalar);
                    break;
                }
        if (st == MDK_OK && len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            mdki_ynode **g = mdki_realloc(n->items, ncap * sizeof *g);
            if (!g) st = MDK_ERR_NO_MEMORY;
            else n->items = g, cap = ncap;
        }
        if (st != MDK_OK) {
            node_free(c);
            break;
        }
        n->items[len++] = c;
        n->n = is_map ? len / 2 : len;
    }
    if (st != MDK_OK) {
        n->n = is_map ? len / 2 : len;
        /* a dangling key of a mapping is freed too */
        if (is_map && len % 2) node_free(n->items[len - 1]);
        node_free(n);
        return st;
    }
    *out = n;
    return MDK_OK;
}

mdk_status mdki_yaml_parse(const char *data, size_t len, const char *file, mdki_ydoc **out)
{
    if (len > MDKI_YAML_MAX_BYTES)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: %zu bytes, above the limit of %u for a spec", file, len, MDKI_YAML_MAX_BYTES);
    builder b = {.file = file};
    mdki_ydoc *doc = mdki_calloc(1, sizeof *doc);
    if (!doc || !(doc->file = mdki_strdup(file))) {
        mdki_free(doc);
        return MDK_ERR_NO_MEMORY;
    }
    if (!yaml_parser_initialize(&b.parser)) {
        mdki_yaml_free(doc);
        return mdki_fail(MDK_ERR_NO_MEMORY, "out of memory");
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)data, len);
    mdk_status st = MDK_OK;
    int docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&b.parser, &ev)) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s:%zu:%zu: %s", file, b.parser.problem_mark.line + 1,
                           b.parser.problem_mark.column + 1, b.parser.problem ? b.parser.problem : "invalid YAML");
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            st = fail_at(&b, &ev.start_mark, "more than one YAML document");
        } else if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT ||
                   t == YAML_ALIAS_EVENT) {
            st = read_node(&b, &ev, 0, &doc->root);
        }
        yaml_event_delete(&ev);
        if (st != MDK_OK || t == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&b.parser);
    if (st != MDK_OK) {
        mdki_yaml_free(doc);
        return st;
    }
    *out = doc;
    return MDK_OK;
}

mdki_ynode *mdki_ymap_get(const mdki_ynode *map, const char *key)
{
    if (!map || map->type != MDKI_Y_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->items[2 * i]->scalar, key) == 0) return map->items[2 * i + 1];
    return NULL;
}
