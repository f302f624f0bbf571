# A fake NVML shared library for tests/meter/nvml_test.cpp, loaded with dlopen by its path.
add_library(fake_nvml SHARED ${CMAKE_SOURCE_DIR}/tests/meter/fake_nvml/fake_nvml.c)
set_target_properties(fake_nvml PROPERTIES C_VISIBILITY_PRESET default)
# The test program is created after this file is included: wire it up at the end of configuration.
function(clear_meter_wire_fake_nvml)
  if(TARGET meter_nvml)
    add_dependencies(meter_nvml fake_nvml)
    target_compile_definitions(meter_nvml PRIVATE FAKE_NVML_PATH="$<TARGET_FILE:fake_nvml>")
  endif()
endfunction()
cmake_language(DEFER CALL clear_meter_wire_fake_nvml)
