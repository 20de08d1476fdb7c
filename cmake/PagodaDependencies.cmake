# Every dependency comes from a Debian package (see README.md) or the CUDA toolkit.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(dnnl REQUIRED)
# PCRE2: Perl-compatible regular expressions with Unicode properties and lookahead (weight-name
# mapping now, tokenizer pre-tokenizer patterns later).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# ICU (libicu-dev): Unicode normalization (NFC/NFKC...), case mapping, character properties and
# grapheme segmentation for the tokenizer.
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
# The OpenAI-compatible server's HTTP library (src/server/openai_server.h says why this one).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

# MPI (libopenmpi-dev): CPU ranks of a tensor- or pipeline-parallel engine as processes under
# mpirun. Optional: without it Pagoda runs single-process and says so when asked for more ranks.
find_package(MPI COMPONENTS C)

# OpenBLAS ships no CMake package on Debian; find its pthread variant directly.
find_path(OPENBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas
  NO_DEFAULT_PATH)
find_library(OPENBLAS_LIBRARY NAMES openblas
  PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread /usr/lib/x86_64-linux-gnu)
if(NOT OPENBLAS_INCLUDE_DIR OR NOT OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS not found: install it with `apt-get install libopenblas-dev`")
endif()
add_library(pagoda_openblas INTERFACE)
target_include_directories(pagoda_openblas SYSTEM INTERFACE ${OPENBLAS_INCLUDE_DIR})
target_link_libraries(pagoda_openblas INTERFACE ${OPENBLAS_LIBRARY})

if(PAGODA_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
