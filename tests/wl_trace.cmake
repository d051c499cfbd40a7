# The trace workload of `shmbench run` and the text and word parameter
# kinds it brought (tests/test_wl_trace.c and tests/run_wl_trace.sh say
# what each checks at their top): in one process, a hand-worked trace split
# over 3 workers and replayed twice, a refused free; then through `shmbench
# run`, 1 and 2 workers, each and split, on slab, tlsf and glibc, with the
# counts against the trace's own and every refusal.
shmbench_test(test_wl_trace LABELS unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wl_trace.c)
shmbench_add_test(run_wl_trace LABELS cli multiproc
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_wl_trace.sh $<TARGET_FILE:shmbench>)
set_tests_properties(run_wl_trace PROPERTIES TIMEOUT 120)
