# The `shmbench` command line: the trace parser's unit test; every
# conformance vector replayed by the slab and compared byte for byte with
# nginx's output (also over other zone methods); bad input, `stat` on a kept
# and on a corrupted zone, a `bench` smoke run, and every --help.
shmbench_test(test_trace ${CMAKE_CURRENT_LIST_DIR}/test_trace.c)
set_tests_properties(test_trace PROPERTIES LABELS "cli")

file(GLOB _cli_conf_traces CONFIGURE_DEPENDS "${SHMBENCH_CONFORMANCE_DIR}/*.trace")
list(SORT _cli_conf_traces)
foreach(_trace ${_cli_conf_traces})
  get_filename_component(_name "${_trace}" NAME_WE)
  string(REGEX REPLACE "\\.trace$" ".expected" _expected "${_trace}")
  add_test(NAME conformance_slab_${_name}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_compare.sh "${_expected}"
            $<TARGET_FILE:shmbench> replay --offsets "${_trace}")
  set_tests_properties(conformance_slab_${_name} PROPERTIES LABELS "conformance")
  # Two vectors over every other zone method that needs no set-up.
  if(_name MATCHES "^(06-merge|13-churn-large)$")
    foreach(_method devzero sysv posix)
      add_test(NAME conformance_slab_${_name}_${_method}
        COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_compare.sh "${_expected}"
                $<TARGET_FILE:shmbench> replay --offsets --zone ${_method} "${_trace}")
      set_tests_properties(conformance_slab_${_name}_${_method}
        PROPERTIES LABELS "conformance")
    endforeach()
  endif()
endforeach()

foreach(_part errors stat bench help)
  add_test(NAME cli_${_part}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli_errors.sh $<TARGET_FILE:shmbench>
            ${_part} "${SHMBENCH_CONFORMANCE_DIR}")
  set_tests_properties(cli_${_part} PROPERTIES LABELS "cli" TIMEOUT 60)
endforeach()
