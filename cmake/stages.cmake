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
  foreach(stage ${CLEAR_STAGES} cli)
    # A stage's tests may need extra build steps (e.g. a fake shared library): tests/<stage>/extra.cmake.
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/${stage}/extra.cmake)
      include(${CMAKE_SOURCE_DIR}/tests/${stage}/extra.cmake)
    endif()
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${stage}/*_test.cpp)
    file(GLOB support CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${stage}/support/*.cpp
                                        ${CMAKE_SOURCE_DIR}/tests/support/*.cpp)
    foreach(src ${tests})
      get_filename_component(base ${src} NAME_WE)
      string(REGEX REPLACE "_test$" "" base ${base})
      set(exe ${stage}_${base})
      add_executable(${exe} ${src} ${support})
      target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/src)
      if(stage STREQUAL "cli")
        target_link_libraries(${exe} PRIVATE clear_util clear_report GTest::gtest_main)
        add_dependencies(${exe} dissect)
      else()
        target_link_libraries(${exe} PRIVATE clear_${stage} GTest::gtest_main)
      endif()
      target_compile_definitions(${exe} PRIVATE
        CLEAR_SOURCE_DIR="${CMAKE_SOURCE_DIR}" CLEAR_BINARY_DIR="${CMAKE_BINARY_DIR}"
        DISSECT_PATH="$<TARGET_FILE:dissect>")
      gtest_discover_tests(${exe} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 900 LABELS ${stage})
    endforeach()
  endforeach()
endfunction()
