# The `shmbench` command line: the trace parser's unit test; every
# conformance vector replayed by the slab and compared byte for byte with
# nginx's output (also over other zone methods); bad input, `stat` on a kept
# and on a corrupted zone, a `bench` smoke run, and every --help.
shmbench_test(test_trace LABELS unit cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_trace.c)

shmbench_conformance(conformance_slab "" "conformance" ".")
# Two vectors over every other zone method that needs no set-up (the test
# names end in the method: conformance_slab_06-merge_sysv).
foreach(_method devzero sysv posix)
  shmbench_conformance(conformance_slab "_${_method}" "conformance"
                       "^(06-merge|13-churn-large)$" --zone ${_method})
endforeach()

foreach(_part errors stat bench help)
  add_test(NAME cli_${_part}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli_errors.sh $<TARGET_FILE:shmbench>
            ${_part} "${SHMBENCH_CONFORMANCE_DIR}")
  set_tests_properties(cli_${_part} PROPERTIES LABELS "cli" TIMEOUT 60)
endforeach()
