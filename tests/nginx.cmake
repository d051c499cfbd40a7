# The `nginx` reference allocator (nginx 1.22.1's own ngx_slab.c, built when
# -DSHMBENCH_NGINX_SRC=DIR is given; see cmake/nginx_ref.cmake):
#  - test_differential: `slab` against `nginx` on thousands of random traces;
#  - nginx_conformance_NAME: `shmbench replay --alloc nginx --offsets` of
#    every conformance vector must print its .expected file byte for byte
#    (the check that the reference itself is built right).
if(NOT SHMBENCH_NGINX_SRC)
  return()
endif()

shmbench_test(test_differential ${CMAKE_CURRENT_LIST_DIR}/test_differential.c)
set_tests_properties(test_differential PROPERTIES TIMEOUT 300 LABELS "nginx;slow")

shmbench_conformance(nginx_conformance "" "nginx;conformance" "." --alloc nginx)
