# The lua_shared_dict emulation (workloads/shdict.[ch]) with its red-black
# tree and CRC-32: one program, every expected figure derived from the
# module's rules in its comments.  Its multiproc part runs on its own.
shmbench_test(test_shdict LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shdict.c)
# Two forked workers on one dict under a shared lock.
shmbench_add_test(test_shdict_multiproc LABELS multiproc COMMAND test_shdict multiproc)
set_tests_properties(test_shdict_multiproc PROPERTIES TIMEOUT 120)

# The same program with nginx's own src/core/ngx_rbtree.c compiled in
# (unchanged, its warnings silenced: not ours to fix), to compare the tree's
# shape with nginx's after every operation.  ngx_rbtree.c needs only
# nginx's integer types and ngx_inline from <ngx_config.h> and
# <ngx_core.h>; the two are generated here with just those, since nginx's
# own need configure's output.
if(NOT SHMBENCH_NGINX_SRC)
  shmbench_skipped(test_shdict_ngx_rbtree LABELS unit nginx
                   WHY "nginx's source was not given (scripts/fetch-nginx.sh, then -DSHMBENCH_NGINX_SRC=DIR)")
  return()
endif()
get_filename_component(_shdict_ngx "${SHMBENCH_NGINX_SRC}" ABSOLUTE BASE_DIR "${PROJECT_BINARY_DIR}")
set(_shdict_shim "${CMAKE_CURRENT_BINARY_DIR}/shdict_ngx_shim")
file(WRITE "${_shdict_shim}/ngx_config.h"
  "#ifndef _NGX_CONFIG_H_INCLUDED_\n#define _NGX_CONFIG_H_INCLUDED_\n"
  "#include <stddef.h>\n#include <stdint.h>\n"
  "typedef intptr_t ngx_int_t;\ntypedef uintptr_t ngx_uint_t;\n"
  "typedef unsigned char u_char;\n#define ngx_inline inline\n#endif\n")
file(WRITE "${_shdict_shim}/ngx_core.h"
  "#ifndef _NGX_CORE_H_INCLUDED_\n#define _NGX_CORE_H_INCLUDED_\n"
  "#include <ngx_config.h>\n#include <ngx_rbtree.h>\n#endif\n")
shmbench_test(test_shdict_ngx_rbtree LABELS unit nginx
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shdict.c "${_shdict_ngx}/src/core/ngx_rbtree.c")
target_include_directories(test_shdict_ngx_rbtree PRIVATE "${_shdict_shim}" "${_shdict_ngx}/src/core")
target_compile_definitions(test_shdict_ngx_rbtree PRIVATE SHDICT_TEST_NGX_RBTREE)
set_source_files_properties("${_shdict_ngx}/src/core/ngx_rbtree.c" PROPERTIES COMPILE_OPTIONS "-w")
