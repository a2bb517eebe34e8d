# ollama_part(NAME deps...): src/NAME/**/*.cpp -> static library oc_NAME.
# Files ending in _avx2.cpp / _avxvnni.cpp / _avx512.cpp / _amx.cpp get that ISA's flags; the rest of the
# binary stays baseline x86-64 so it runs on any CPU (dispatch is by CPUID).
set(OLLAMA_PARTS "")
function(ollama_part name)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  set(deps ${ARGN})
  list(TRANSFORM deps REPLACE "^(util|api|ops|gpu|engine|store|prompt|create|registry|runner|sched|server|client|cli)$" "oc_\\1")
  if(srcs)
    add_library(oc_${name} STATIC ${srcs})
    target_include_directories(oc_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
    target_link_libraries(oc_${name} PUBLIC ${deps})
    foreach(src ${srcs})
      if(src MATCHES "_avx2\\.cpp$")
        set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
      elseif(src MATCHES "_avxvnni\\.cpp$")
        set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavxvnni")
      elseif(src MATCHES "_avx512\\.cpp$")
        set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
          "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16")
      elseif(src MATCHES "_amx\\.cpp$")
        set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
          "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16;-mamx-tile;-mamx-int8;-mamx-bf16")
      endif()
    endforeach()
  else()
    add_library(oc_${name} INTERFACE)
    target_include_directories(oc_${name} INTERFACE ${CMAKE_SOURCE_DIR}/src)
    target_link_libraries(oc_${name} INTERFACE ${deps})
  endif()
  set(OLLAMA_PARTS ${OLLAMA_PARTS} ${name} PARENT_SCOPE)
endfunction()

# tests/NAME/*.cpp -> test_NAME (GoogleTest), registered with CTest.
# Tests run from the project root so ../shared resolves the same way everywhere.
function(ollama_part_tests)
  foreach(name ${OLLAMA_PARTS})
    file(GLOB tsrcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${name}/*.cpp)
    if(tsrcs)
      add_executable(test_${name} ${tsrcs})
      target_link_libraries(test_${name} PRIVATE oc_${name} GTest::gtest GTest::gtest_main GTest::gmock)
      target_include_directories(test_${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
      target_compile_definitions(test_${name} PRIVATE
        OLLAMA_SOURCE_DIR="${CMAKE_SOURCE_DIR}" OLLAMA_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared"
        OLLAMA_BINARY_DIR="${CMAKE_BINARY_DIR}")
      gtest_discover_tests(test_${name} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
        DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
    endif()
  endforeach()
endfunction()
