# The nginx-feature workloads of `shmbench run` (lua_dict, limit_req,
# ssl_cache): in one process over slab and tlsf against the counts nginx's
# arithmetic predicts (test_wl_nginx.c), and end to end through `shmbench
# run` with two workers, the zone's check and the cap refusals
# (run_wl_nginx.sh).
shmbench_test(test_wl_nginx LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wl_nginx.c)
shmbench_add_test(run_wl_nginx LABELS cli multiproc
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_wl_nginx.sh $<TARGET_FILE:shmbench>)
set_tests_properties(run_wl_nginx PROPERTIES TIMEOUT 60)
