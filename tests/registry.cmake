# One conformance suite over every allocator of the registry, one ctest per
# allocator, test_registry_NAME (`test_registry NAME`), so that a failure
# names the allocator; one that cannot be loaded here is reported skipped.
#
# The list below is the registry's (alloc/registry.c), written by hand:
# test_registry_names (`test_registry --names LIST`) fails when the registry
# has a usable allocator the list lacks, or the list names one the registry
# does not know.  nginx and the Boost pair are listed only when built.
set(SHMBENCH_REGISTRY_ALLOCATORS slab)
if(SHMBENCH_NGINX_SRC)
  list(APPEND SHMBENCH_REGISTRY_ALLOCATORS nginx)
endif()
list(APPEND SHMBENCH_REGISTRY_ALLOCATORS freelist tlsf)
if(SHMBENCH_HAVE_BOOST_FOUND)
  list(APPEND SHMBENCH_REGISTRY_ALLOCATORS boost-rbtree boost-seqfit)
endif()
list(APPEND SHMBENCH_REGISTRY_ALLOCATORS
     lfslab jemalloc-shm mimalloc-shm glibc jemalloc mimalloc)

shmbench_test_program(test_registry ${CMAKE_CURRENT_LIST_DIR}/test_registry.c)
foreach(_alloc ${SHMBENCH_REGISTRY_ALLOCATORS})
  set(_labels registry)
  if(_alloc STREQUAL "nginx")
    list(APPEND _labels nginx)
  endif()
  shmbench_add_test(test_registry_${_alloc} LABELS ${_labels}
                    COMMAND test_registry ${_alloc})
  set_tests_properties(test_registry_${_alloc} PROPERTIES TIMEOUT 120)
endforeach()
shmbench_add_test(test_registry_names LABELS registry
                  COMMAND test_registry --names ${SHMBENCH_REGISTRY_ALLOCATORS})
