# The fuzz targets, each linked against instrumented slices of src/: one static library per
# source directory, so the linker keeps only the objects a target reaches and the big ops/
# kernels are never compiled (the GGUF reader needs only ops/type_table.cpp).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "the fuzz targets need clang (libFuzzer); got ${CMAKE_CXX_COMPILER_ID}")
endif()
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)

get_filename_component(OLLAMA_SRC ${CMAKE_CURRENT_SOURCE_DIR}/../../src REALPATH)
set(FUZZ_SANITIZERS address,undefined)
# UBSan findings must stop the run (libFuzzer only sees a crash), hence no recovery.
add_compile_options(-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,${FUZZ_SANITIZERS}
  -fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

# fuzz_slice(NAME SOURCES globs... DEPS targets...): src/<globs> -> static library NAME.
function(fuzz_slice name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  set(srcs "")
  foreach(pattern ${arg_SOURCES})
    file(GLOB found CONFIGURE_DEPENDS ${OLLAMA_SRC}/${pattern})
    list(APPEND srcs ${found})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${OLLAMA_SRC})
  target_link_libraries(${name} PUBLIC ${arg_DEPS})
endfunction()

fuzz_slice(fz_util SOURCES util/*.cpp
  DEPS Threads::Threads OpenSSL::Crypto fmt::fmt spdlog::spdlog nlohmann_json::nlohmann_json)
fuzz_slice(fz_api SOURCES api/*.cpp DEPS fz_util)
fuzz_slice(fz_gguf SOURCES engine/gguf/*.cpp ops/type_table.cpp DEPS fz_util)
fuzz_slice(fz_prompt SOURCES prompt/*.cpp DEPS fz_api fz_util)
fuzz_slice(fz_params SOURCES create/parameters.cpp store/gojson.cpp DEPS fz_api fz_util)
fuzz_slice(fz_format SOURCES engine/sample/grammar.cpp engine/sample/json_schema.cpp
  engine/sample/regex_grammar.cpp DEPS fz_util)

foreach(target gguf template json_request format)
  add_executable(fuzz_${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_${target}.cpp)
  target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,${FUZZ_SANITIZERS})
endforeach()
target_link_libraries(fuzz_gguf PRIVATE fz_gguf)
target_link_libraries(fuzz_template PRIVATE fz_prompt)
target_link_libraries(fuzz_json_request PRIVATE fz_params fz_api)
target_link_libraries(fuzz_format PRIVATE fz_format)
