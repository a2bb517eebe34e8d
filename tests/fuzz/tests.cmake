# CTest entries fuzz.<target>: run.sh builds build-fuzz/ with clang when needed, replays the
# committed regressions, then fuzzes for $OLLAMA_FUZZ_SECONDS (default 60) seconds. Exit 77
# (clang++ absent) is a skip. Label "fuzz": `ctest -LE fuzz` leaves them out.
set(fuzz_seconds 60)
if(DEFINED ENV{OLLAMA_FUZZ_SECONDS})
  set(fuzz_seconds $ENV{OLLAMA_FUZZ_SECONDS})
endif()
# A cold build of one target takes ~1 min on 2 cores; the margin covers slow machines and the
# libFuzzer shutdown. Raise it (or reconfigure) when fuzzing longer than configured for.
math(EXPR fuzz_timeout "${fuzz_seconds} + 900")
set(OLLAMA_FUZZ_TIMEOUT ${fuzz_timeout} CACHE STRING "CTest timeout of one fuzz test, seconds")
foreach(target gguf template json_request format)
  add_test(NAME fuzz.${target} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/run.sh ${target})
  set_tests_properties(fuzz.${target} PROPERTIES
    TIMEOUT ${OLLAMA_FUZZ_TIMEOUT} SKIP_RETURN_CODE 77 LABELS fuzz RESOURCE_LOCK build-fuzz
    # First in line: they run one at a time (one build dir), ~70-110 s each, so on a clean
    # clone (no timing history) they would otherwise queue up behind everything at the end.
    COST 10000)
endforeach()
