# The `nginx` reference allocator (nginx 1.22.1's own ngx_slab.c, built when
# -DSHMBENCH_NGINX_SRC=DIR is given; see cmake/nginx_ref.cmake):
#  - test_differential: `slab` against `nginx` on thousands of random traces;
#  - nginx_conformance_NAME: `shmbench replay --alloc nginx --offsets` of
#    every conformance vector must print its .expected file byte for byte
#    (the check that the reference itself is built right).
# Without the source, test_differential is reported skipped.
if(NOT SHMBENCH_NGINX_SRC)
  shmbench_skipped(test_differential LABELS differential nginx
                   WHY "nginx's source was not given (scripts/fetch-nginx.sh, then -DSHMBENCH_NGINX_SRC=DIR)")
  return()
endif()

shmbench_test(test_differential LABELS differential nginx slow
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_differential.c)
set_tests_properties(test_differential PROPERTIES TIMEOUT 300)

shmbench_conformance(nginx_conformance "" "nginx;conformance" "." --alloc nginx)
