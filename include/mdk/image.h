/* image.h: decoded 8-bit images (JPEG, PNG) as the input of preprocessing. Included by mdk.h. */
#ifndef MDK_IMAGE_H
#define MDK_IMAGE_H

#ifdef __cplusplus
extern "C" {
#endif

/* The default cap on decoded pixels (width x height): images above it are refused before decoding, as
 * decompression bombs would otherwise exhaust memory. */
#define MDK_IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)100000000)
#define MDK_IMAGE_MAX_FILE_BYTES ((uint64_t)256 << 20)

/* An 8-bit image, interleaved rows, 1 (gray), 3 (RGB) or 4 (RGBA) channels, top-left origin, with the
 * JPEG EXIF orientation already applied. */
typedef struct mdk_image mdk_image;

typedef struct mdk_decode_options {
    size_t struct_size;      /* sizeof(mdk_decode_options), set by mdk_decode_options_init */
    uint64_t max_pixels;     /* refuse larger images (default MDK_IMAGE_DEFAULT_MAX_PIXELS) */
    int apply_orientation;   /* rotate/flip JPEGs by their EXIF orientation (default 1, as cv2.imread) */
    /* Fast path for JPEG: decode at 1/2, 1/4 or 1/8 scale in the DCT domain, the smallest that still covers
     * min_width x min_height. 0 (default) decodes at full size. Changes results: opt-in only. */
    int min_width, min_height;
} mdk_decode_options;

/* The function behind mdk_decode_options_init(), for callers that cannot use the macro (other languages): `size` is
 * the caller's sizeof(mdk_decode_options). */
MDK_API void mdk_decode_options_init_sized(mdk_decode_options *opts, size_t size);
/* Sets every field of `opts` to its default, struct_size to the caller's sizeof: fields appended in later
 * versions are never written into an older caller's smaller struct. */
#define mdk_decode_options_init(opts) mdk_decode_options_init_sized((opts), sizeof *(opts))

/* Decodes a JPEG or PNG from memory. `what` names it in messages; `opts` may be NULL for defaults.
 * Corrupt, truncated and empty data, other formats and images above the pixel cap are refused. */
MDK_API mdk_status mdk_image_decode(const void *data, size_t len, const char *what, const mdk_decode_options *opts,
                                    mdk_image **out);
/* Reads and decodes the file at `path` (at most MDK_IMAGE_MAX_FILE_BYTES). */
MDK_API mdk_status mdk_image_read(const char *path, const mdk_decode_options *opts, mdk_image **out);
/* An image over a copy of `pixels` (width*height*channels bytes, rows packed). */
MDK_API mdk_status mdk_image_new(int width, int height, int channels, const uint8_t *pixels, mdk_image **out);
MDK_API void mdk_image_free(mdk_image *img);

MDK_API int mdk_image_width(const mdk_image *img);
MDK_API int mdk_image_height(const mdk_image *img);
MDK_API int mdk_image_channels(const mdk_image *img);
MDK_API const uint8_t *mdk_image_pixels(const mdk_image *img);
/* The size of the encoded image before any fast-path reduction (equal to width/height otherwise). */
MDK_API int mdk_image_source_width(const mdk_image *img);
MDK_API int mdk_image_source_height(const mdk_image *img);

#ifdef __cplusplus
}
#endif

#endif
