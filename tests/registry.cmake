# One conformance suite over every allocator of the registry.
shmbench_test(test_registry ${CMAKE_CURRENT_LIST_DIR}/test_registry.c)
set_tests_properties(test_registry PROPERTIES TIMEOUT 600)
