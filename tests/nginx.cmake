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

file(GLOB _nginx_conf_traces CONFIGURE_DEPENDS "${SHMBENCH_CONFORMANCE_DIR}/*.trace")
list(SORT _nginx_conf_traces)
foreach(_trace ${_nginx_conf_traces})
  get_filename_component(_name "${_trace}" NAME_WE)
  string(REGEX REPLACE "\\.trace$" ".expected" _expected "${_trace}")
  add_test(NAME nginx_conformance_${_name}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_compare.sh "${_expected}"
            $<TARGET_FILE:shmbench> replay --alloc nginx --offsets "${_trace}")
  set_tests_properties(nginx_conformance_${_name} PROPERTIES LABELS "nginx;conformance")
endforeach()
