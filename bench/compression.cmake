# bfast-compress-bench: LZ4 threads, transport encodings, the seed's 50k records, and
# transcode + encode() on the real-world corpus.
add_executable(bfast_compress_bench compress_bench.cpp)
set_target_properties(bfast_compress_bench PROPERTIES OUTPUT_NAME bfast-compress-bench)
target_link_libraries(bfast_compress_bench PRIVATE bfast::core benchmark::benchmark bfast_warnings)
target_compile_definitions(bfast_compress_bench PRIVATE
  BFAST_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
