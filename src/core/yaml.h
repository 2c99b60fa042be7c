/* yaml.h: YAML documents read into a small tree that keeps each node's line and column, so that spec
 * errors can name file, line and field. Aliases and anchors are refused; size, depth and node count are
 * capped. */
#ifndef MDK_CORE_YAML_H
#define MDK_CORE_YAML_H

#include "core/core.h"

#define MDKI_YAML_MAX_BYTES (1u << 20)
#define MDKI_YAML_MAX_DEPTH 32
#define MDKI_YAML_MAX_NODES 100000

typedef enum mdki_ynode_type { MDKI_Y_SCALAR, MDKI_Y_SEQ, MDKI_Y_MAP } mdki_ynode_type;

typedef struct mdki_ynode mdki_ynode;
struct mdki_ynode {
    mdki_ynode_type type;
    int line, col;          /* 1-based */
    char *scalar;           /* MDKI_Y_SCALAR */
    int quoted;             /* the scalar was quoted: a string, never a number or bool */
    size_t n;               /* items of a sequence, or pairs of a mapping */
    mdki_ynode **items;     /* sequence items; for mappings keys[i] = items[2i], values[i] = items[2i+1] */
};

typedef struct mdki_ydoc {
    mdki_ynode *root;       /* NULL for an empty document */
    char *file;             /* the name used in messages */
} mdki_ydoc;

/* Parses `data`; errors read "FILE:LINE:COL: what is wrong". */
mdk_status mdki_yaml_parse(const char *data, size_t len, const char *file, mdki_ydoc **out);
void mdki_yaml_free(mdki_ydoc *doc);

/* The value of `key` in a mapping, or NULL. */
mdki_ynode *mdki_ymap_get(const mdki_ynode *map, const char *key);

#endif
