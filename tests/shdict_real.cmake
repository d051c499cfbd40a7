# `shmbench shdict`, the lua_shared_dict simulator (bench/cmd_shdict.c,
# workloads/shdict_script.[ch]): its command line alone (shdict_sim: bad
# scripts as FILE:LINE, usage errors, a script whose every line is derived
# in the test, every script of tests/shdict on the other allocators), and
# every script of tests/shdict compared line for line with what Debian's
# nginx and its lua module print for it (shdict_real, through
# tests/shdict_runner.lua; skipped where nginx is not installed).
shmbench_add_test(shdict_sim LABELS cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/shdict_real.sh $<TARGET_FILE:shmbench> sim)
set_tests_properties(shdict_sim PROPERTIES TIMEOUT 120)
shmbench_add_test(shdict_real LABELS realnginx cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/shdict_real.sh $<TARGET_FILE:shmbench> real)
set_tests_properties(shdict_real PROPERTIES TIMEOUT 300)
