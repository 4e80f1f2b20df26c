# Compression: LZ4 layouts, encode(), the arena, transport encodings, the policy.
# Included from tests/core/CMakeLists.txt after bfast_test_support is defined.
add_executable(bfast_compression_tests compress_test.cpp encode_test.cpp policy_test.cpp
  representation_test.cpp)
target_link_libraries(bfast_compression_tests PRIVATE
  bfast_test_support GTest::gtest_main bfast_warnings)
target_compile_definitions(bfast_compression_tests PRIVATE BFAST_NODE="${BFAST_NODE_EXE}")
gtest_discover_tests(bfast_compression_tests DISCOVERY_TIMEOUT 120
  PROPERTIES LABELS "core;compression")
