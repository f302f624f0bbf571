# A stage is src/<name>/*.cpp built into clear_<name>, with public headers in include/clear/<name>/.
set(CLEAR_STAGES "")
function(clear_stage name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  add_library(clear_${name} STATIC ${srcs} ${CMAKE_SOURCE_DIR}/cmake/stage_anchor.cpp)
  target_include_directories(clear_${name} PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_BINARY_DIR}/generated
                             PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(clear_${name} PUBLIC ${ARG_DEPS})
  set(CLEAR_STAGES ${CLEAR_STAGES} ${name} PARENT_SCOPE)
endfunction()

# Every tests/<stage>/<name>_test.cpp is its own test program <stage>_<name>, linked with the
# stage's library and the stage's shared test code in tests/<stage>/support/*.cpp; a file being
# rewritten breaks only its own program. tests/cli/ programs drive the built `dissect`.
function(clear_stage_tests)
  # Shared test code is compiled once: tests/support into clear_test_support, and each stage's
  # tests/<stage>/support into <stage>_test_support.
  file(GLOB common CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/support/*.cpp)
  add_library(clear_test_support STATIC ${common})
  target_include_directories(clear_test_support PUBLIC ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(clear_test_support PUBLIC clear_util GTest::gtest)
  target_compile_definitions(clear_test_support PUBLIC
    CLEAR_SOURCE_DIR="${CMAKE_SOURCE_DIR}" CLEAR_BINARY_DIR="${CMAKE_BINARY_DIR}"
    DISSECT_PATH="$<TARGET_FILE:dissect>")
  foreach(stage ${CLEAR_STAGES} cli)
    # A stage's tests may need extra build steps (e.g. a fake shared library): tests/<stage>/extra.cmake.
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/${stage}/extra.cmake)
      include(${CMAKE_SOURCE_DIR}/tests/${stage}/extra.cmake)
    endif()
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${stage}/*_test.cpp)
    if(NOT tests)
      continue()
    endif()
    if(stage STREQUAL "cli")
      set(stage_lib clear_report)
    else()
      set(stage_lib clear_${stage})
    endif()
    file(GLOB support CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${stage}/support/*.cpp)
    set(support_lib clear_test_support)
    if(support)
      add_library(${stage}_test_support STATIC ${support})
      target_link_libraries(${stage}_test_support PUBLIC ${stage_lib} clear_test_support)
      set(support_lib ${stage}_test_support)
    endif()
    foreach(src ${tests})
      get_filename_component(base ${src} NAME_WE)
      string(REGEX REPLACE "_test$" "" base ${base})
      set(exe ${stage}_${base})
      add_executable(${exe} ${src})
      target_link_libraries(${exe} PRIVATE ${support_lib} ${stage_lib} GTest::gtest_main)
      if(stage STREQUAL "cli")
        add_dependencies(${exe} dissect)
      endif()
      gtest_discover_tests(${exe} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 900 LABELS ${stage})
    endforeach()
  endforeach()
endfunction()
