# The lua_shared_dict emulation (workloads/shdict.[ch]) with its red-black
# tree and CRC-32: one program, every expected figure derived from the
# module's rules in its comments.
shmbench_test(test_shdict LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shdict.c)
