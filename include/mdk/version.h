/* version.h: mdk's compile-time version. Compare with mdk_version() at run time to detect a header/library
 * mismatch. */
#ifndef MDK_VERSION_H
#define MDK_VERSION_H

#define MDK_VERSION_MAJOR 0
#define MDK_VERSION_MINOR 1
#define MDK_VERSION_PATCH 0

#define MDK_VERSION_STR_(x) #x
#define MDK_VERSION_STR(x) MDK_VERSION_STR_(x)
#define MDK_VERSION_STRING \
    MDK_VERSION_STR(MDK_VERSION_MAJOR) "." MDK_VERSION_STR(MDK_VERSION_MINOR) "." MDK_VERSION_STR(MDK_VERSION_PATCH)

/* One number that grows with every release: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define MDK_VERSION_NUMBER (MDK_VERSION_MAJOR * 10000 + MDK_VERSION_MINOR * 100 + MDK_VERSION_PATCH)

#endif
