# The server workloads of `shmbench run` (larson, threadtest, shbench,
# xmalloc; tests/run_wl_server.sh says what it checks), each briefly over
# slab, tlsf and lfslab, counted against the workers' tables and the
# shared area, the zone checked afterwards.
shmbench_add_test(run_wl_server LABELS cli multiproc
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_wl_server.sh $<TARGET_FILE:shmbench>)
set_tests_properties(run_wl_server PROPERTIES TIMEOUT 120)

# The same workloads in one process, with their exact op patterns (the
# header of tests/test_wl_server.c says which).
shmbench_test(test_wl_server LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wl_server.c)
