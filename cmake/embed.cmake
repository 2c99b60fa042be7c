# Turns each file of TEMPLATES (a |-separated list) into a NUL-terminated C array in OUT, named mdki_tpl_<file name>
# with non-alphanumerics as '_': the bundle generator's templates compiled into the library.
string(REPLACE "|" ";" TEMPLATES "${TEMPLATES}")
set(code "/* Generated from src/bundle/templates by cmake/embed.cmake: do not edit. */\n#include <stddef.h>\n")
foreach(path ${TEMPLATES})
  get_filename_component(fname "${path}" NAME)
  string(MAKE_C_IDENTIFIER "mdki_tpl_${fname}" var)
  file(READ "${path}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND code "const char ${var}[] = {${bytes}0x00};\n")
endforeach()
file(WRITE "${OUT}.tmp" "${code}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
