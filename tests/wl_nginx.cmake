# The nginx-feature workloads of `shmbench run` (lua_dict): in one process
# over slab and tlsf against the spec's counts (test_wl_nginx.c), and end to
# end through `shmbench run` with two workers and the cap refusal
# (run_wl_nginx.sh).
shmbench_test(test_wl_nginx LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wl_nginx.c)
