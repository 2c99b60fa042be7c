/* bundle_int.h: the bundle's files held in memory or on disk, its manifest, and the helpers pack, open,
 * verify and diff share. */
#ifndef MDK_BUNDLE_INT_H
#define MDK_BUNDLE_INT_H

#include "process/process_int.h"
#include "spec/spec.h"

#define MDKI_BUNDLE_FORMAT_VERSION 1
#define MDKI_BUNDLE_MAX_FILES 10000
#define MDKI_BUNDLE_MAX_FILE_BYTES ((uint64_t)2 << 30)
#define MDKI_BUNDLE_MAX_BYTES ((uint64_t)8 << 30)
#define MDKI_BUNDLE_MAX_PATH 1024  /* bytes of a file's path inside the bundle */
#define MDKI_BUNDLE_MAX_DEPTH 16   /* path components of a file inside the bundle */

typedef struct mdki_file {
    char *path;       /* relative, '/'-separated */
    char *data;       /* NULL when the file stays on disk */
    size_t size;
    char sha256[65];
} mdki_file;

typedef struct mdki_files {
    mdki_file *items;
    size_t n, cap;
} mdki_files;

void mdki_files_free(mdki_files *f);
/* Whether `path` may name a file in a bundle: relative, '/'-separated, no empty, '.' or '..' component, at
 * most MDKI_BUNDLE_MAX_PATH bytes and MDKI_BUNDLE_MAX_DEPTH components, valid UTF-8 without control
 * characters, backslashes or combining marks. The message names the entry, what is wrong and the limit.
 * With `in_top_dir`, the first component is an archive's NAME-VERSION directory, outside the limits. */
mdk_status mdki_bundle_check_path(const char *path, int in_top_dir);
/* Adds a file, taking ownership of `data` (freed on failure too). Paths must pass mdki_bundle_check_path and
 * be unique, also when compared without case. */
mdk_status mdki_files_add(mdki_files *f, const char *path, char *data, size_t size);
/* Adds the buffer's content as a file, taking its memory (the buffer is left empty). */
mdk_status mdki_files_add_buf(mdki_files *f, const char *path, mdki_buf *b);
mdki_file *mdki_files_find(const mdki_files *f, const char *path);
void mdki_files_sort(mdki_files *f);

/* The bundle digest: sha256 over "sha256 size path\n" of every file in path order. */
void mdki_files_digest(const mdki_files *f, char out[65]);
/* manifest.json for `f` (which must not contain it). */
mdk_status mdki_manifest_write(const mdki_files *f, const char *name, const char *version, mdki_buf *out);

/* The first test case, which the generated docs and examples use: its inputs (named by model input) as bundle
 * files, and its image when it is an image case. */
typedef struct mdki_sample {
    mdk_tensor **inputs;
    char **files;          /* "examples/inputs/NAME.npy", one per input */
    size_t n;
    const char *image;     /* "test_cases/images/01-....jpg", or NULL */
} mdki_sample;

/* The model card, performance page and OpenAPI description (docs_gen.c). */
mdk_status mdki_gen_docs(const mdk_spec *s, const mdk_model *m, const char *model_path, const char *bench_json,
                         const char *cases_summary, const mdki_sample *first, mdki_files *f);
/* Examples in C and Python, curl.sh with request.json, deployment files, test.py (examples_gen.c). */
mdk_status mdki_gen_examples(const mdk_spec *s, const mdk_model *m, const mdki_sample *first, mdki_files *f);

/* A copy (mdki_free) of the bundle file `rel`: from memory for archives, from disk for directories. */
mdk_status mdki_bundle_load(const mdk_bundle *b, const char *rel, uint64_t cap, char **data, size_t *len);

/* Opens a .mdk archive held in memory (`name` for messages); the same checks as mdk_bundle_open. */
mdk_status mdki_bundle_open_memory(const void *data, size_t len, const char *name, mdk_bundle **out);

#endif
