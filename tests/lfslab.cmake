# lfslab: the lock-free slab.  One program, parts by argument
# (tests/test_lfslab.c says what each checks).
shmbench_test(test_lfslab ${CMAKE_CURRENT_LIST_DIR}/test_lfslab.c)
add_test(NAME test_lfslab_churn COMMAND test_lfslab churn)
add_test(NAME test_lfslab_aba COMMAND test_lfslab aba)
add_test(NAME test_lfslab_crash COMMAND test_lfslab crash)
set_tests_properties(test_lfslab_churn test_lfslab_aba test_lfslab_crash PROPERTIES TIMEOUT 120)

# Builds of the allocator compiled into the test itself (its object wins over
# the library's at link time): test hooks, and the mutation check.
function(lfslab_test_build name)
  add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/test_lfslab.c
                         ${CMAKE_SOURCE_DIR}/alloc/lfslab.c)
  target_link_libraries(${name} PRIVATE shmbench_workloads shmbench_alloc)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE ${ARGN})
endfunction()

# Hooks: stalls in the pop window (the stress must still pass with the full
# tag), and workers stopped where a crash leaves an orphan.
lfslab_test_build(test_lfslab_hooks LFSLAB_TEST_HOOKS)
add_test(NAME test_lfslab_hooks COMMAND test_lfslab_hooks hooks)

# Mutation check: with a 2-bit partial-stack tag and the same stalls, the ABA
# stress must be caught (the test passes when it is).
lfslab_test_build(test_lfslab_tag2 LFSLAB_TEST_HOOKS LFSLAB_TAG_BITS=2)
add_test(NAME test_lfslab_tag2 COMMAND test_lfslab_tag2 aba)
set_tests_properties(test_lfslab_hooks test_lfslab_tag2 PROPERTIES TIMEOUT 120)

# Thread mode under ThreadSanitizer (spec §12.7), in plain builds only (it
# cannot be combined with the address sanitizer): threads stand in for
# processes, each with its own worker index; the lock's code is compiled in
# too, so that the sanitizer sees its acquire and release.
if(NOT SHMBENCH_SANITIZE)
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=thread)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=thread)
  check_c_source_compiles("int main(void) { return 0; }" SHMBENCH_HAVE_TSAN)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(SHMBENCH_HAVE_TSAN)
    lfslab_test_build(test_lfslab_tsan LFSLAB_THREAD_INDEX)
    target_sources(test_lfslab_tsan PRIVATE ${CMAKE_SOURCE_DIR}/alloc/shmtx.c)
    target_compile_options(test_lfslab_tsan PRIVATE -fsanitize=thread)
    target_link_options(test_lfslab_tsan PRIVATE -fsanitize=thread)
    add_test(NAME test_lfslab_tsan COMMAND test_lfslab_tsan threads)
    set_tests_properties(test_lfslab_tsan PROPERTIES TIMEOUT 120
                         ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1:exitcode=66")
  endif()
endif()
