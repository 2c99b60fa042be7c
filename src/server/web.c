/* web.c: the /docs page of mdk serve: Swagger UI from the npm package swagger-ui-dist, compiled into the
 * binary at build time (no CDN, works offline), pointed at the server's own /openapi.json. */
#include <string.h>

#include "server.h"

#ifndef MDK_SWAGGER_DIR
#error "MDK_SWAGGER_DIR must name the unpacked swagger-ui-dist package (set by CMake)"
#endif

/* Each file becomes a symbol pair NAME / NAME_end in .rodata. */
#define EMBED(sym, file)                                                                                                  \
    __asm__(".section .rodata\n.balign 16\n.global " #sym "\n" #sym ":\n.incbin \"" MDK_SWAGGER_DIR "/" file "\"\n"         \
            ".global " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n");                                                 \
    extern const char sym[], sym##_end[];

EMBED(mdks_swagger_js, "swagger-ui-bundle.js")
EMBED(mdks_swagger_css, "swagger-ui.css")
EMBED(mdks_favicon, "favicon-32x32.png")

static const char g_page[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mdk serve: API</title>\n"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n<link rel=\"icon\" href=\"/docs/favicon-32x32.png\">\n"
    "</head>\n<body>\n<div id=\"swagger-ui\"></div>\n<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
    "<script>\nwindow.ui = SwaggerUIBundle({url: \"/openapi.json\", dom_id: \"#swagger-ui\", deepLinking: true,\n"
    "  tryItOutEnabled: true, persistAuthorization: true});\n</script>\n</body>\n</html>\n";

const char *srv_web_docs_page(size_t *len)
{
    *len = sizeof g_page - 1;
    return g_page;
}

const char *srv_web_asset(const char *name, size_t *len, const char **content_type)
{
    static const struct {
        const char *name, *type;
        const char *start, *end;
    } assets[] = {
        {"swagger-ui-bundle.js", "application/javascript; charset=utf-8", mdks_swagger_js, mdks_swagger_js_end},
        {"swagger-ui.css", "text/css; charset=utf-8", mdks_swagger_css, mdks_swagger_css_end},
        {"favicon-32x32.png", "image/png", mdks_favicon, mdks_favicon_end},
    };
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (strcmp(name, assets[i].name) == 0) {
            *len = (size_t)(assets[i].end - assets[i].start);
            *content_type = assets[i].type;
            return assets[i].start;
        }
    return NULL;
}
