# The gpu part: src/gpu/**/*.cpp plus the shaders in src/gpu/vulkan/shaders/*.comp, compiled
# by glslc and embedded (cmake/embed_spirv.cmake). Built only when the Vulkan headers/loader
# (libvulkan-dev) and glslc are found; the CPU build never needs them.
set(OLLAMA_HAVE_VULKAN OFF)
if(OLLAMA_VULKAN)
  find_package(Vulkan QUIET)
  find_program(GLSLC glslc)
  if(Vulkan_FOUND AND GLSLC)
    set(OLLAMA_HAVE_VULKAN ON)
  else()
    message(WARNING "Vulkan GPU part not built: it needs libvulkan-dev and glslc "
                    "(scripts/install-deps.sh installs them)")
  endif()
endif()

if(OLLAMA_HAVE_VULKAN)
  ollama_part(gpu ops util Vulkan::Vulkan)
  file(GLOB OLLAMA_SHADERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/gpu/vulkan/shaders/*.comp)
  # Shared shader bodies (#include "x.glsl"): every shader is rebuilt when one changes.
  file(GLOB OLLAMA_SHADER_INCLUDES CONFIGURE_DEPENDS
       ${CMAKE_SOURCE_DIR}/src/gpu/vulkan/shaders/*.glsl)
  set(spvs "")
  foreach(src ${OLLAMA_SHADERS})
    get_filename_component(name ${src} NAME_WE)
    set(spv ${CMAKE_BINARY_DIR}/shaders/${name}.spv)
    add_custom_command(
      OUTPUT ${spv}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/shaders
      COMMAND ${GLSLC} --target-env=vulkan1.1 -O -Werror -o ${spv} ${src}
      DEPENDS ${src} ${OLLAMA_SHADER_INCLUDES}
      COMMENT "glslc ${name}.comp"
      VERBATIM)
    list(APPEND spvs ${spv})
  endforeach()
  string(REPLACE ";" "|" spv_arg "${spvs}")
  set(embedded ${CMAKE_BINARY_DIR}/gpu_spirv.cpp)
  add_custom_command(
    OUTPUT ${embedded}
    COMMAND ${CMAKE_COMMAND} -DOUT=${embedded} -DSPV=${spv_arg} -P
            ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
    DEPENDS ${spvs} ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
    COMMENT "embedding SPIR-V"
    VERBATIM)
  target_sources(oc_gpu PRIVATE ${embedded})
endif()
