# `shmbench stat --pid` of Debian's own nginx with two lua dicts and a
# limit_req zone (tests/stat_pid_real.sh; skipped where that nginx is not
# installed).
shmbench_add_test(stat_pid_real LABELS realnginx cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/stat_pid_real.sh $<TARGET_FILE:shmbench>)
set_tests_properties(stat_pid_real PROPERTIES TIMEOUT 180)

# The translation of nginx's zones that `stat --pid` relies on, checked on
# zones of nginx's own slab code (the `nginx` allocator; skipped without it).
shmbench_test(test_slab_nginx LABELS unit nginx
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_slab_nginx.c)
