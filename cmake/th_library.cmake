# The build enforces the layers (common → message → store → remoting → broker / namesrv / client → apps): a target
# sees the headers of the layers it links and of no other. Each layer's include root is a directory of its own,
# ${TH_INCLUDE_ROOT}/<layer>, holding one entry, <layer>, a link to src/<layer>; so `#include "store/commit_log.h"`
# resolves only where thruster_store's include root was propagated, that is in thruster_store itself and in the
# targets that link it (directly or through another layer). Nothing puts src/ itself on an include path.
set(TH_INCLUDE_ROOT ${CMAKE_BINARY_DIR}/include)

# th_library(name SOURCES a.cc b.cc DEPS dep1 dep2)
# One static library per layer, defined in src/<layer>/; its headers are included as "<layer>/...".
function(th_library name)
  cmake_parse_arguments(TH "" "" "SOURCES;DEPS" ${ARGN})
  file(RELATIVE_PATH layer ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  if(layer STREQUAL "" OR layer MATCHES "/" OR layer MATCHES "^\\.\\.")
    message(FATAL_ERROR "th_library(${name}) must be defined in src/<layer>/CMakeLists.txt")
  endif()
  set(root ${TH_INCLUDE_ROOT}/${layer})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${root}/${layer} SYMBOLIC)

  add_library(${name} STATIC ${TH_SOURCES})
  target_include_directories(${name} PUBLIC ${root})
  target_compile_features(${name} PUBLIC cxx_std_20)
  target_link_libraries(${name} PUBLIC ${TH_DEPS})
  target_compile_options(${name} PRIVATE ${TH_WARNINGS})
  set_target_properties(${name} PROPERTIES TH_LAYER ${layer})
endfunction()

# Sets `out` to the layers that the targets in ARGN link, directly or through other targets.
function(th_linked_layers out)
  set(layers "")
  set(seen "")
  set(todo ${ARGN})
  while(todo)
    list(POP_FRONT todo dep)
    if(NOT TARGET ${dep} OR dep IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${dep})
    get_target_property(layer ${dep} TH_LAYER)
    if(layer)
      list(APPEND layers ${layer})
    endif()
    get_target_property(deps ${dep} INTERFACE_LINK_LIBRARIES)
    if(deps)
      list(APPEND todo ${deps})
    endif()
  endwhile()
  set(${out} ${layers} PARENT_SCOPE)
endfunction()

# th_test(name SOURCES ... DEPS ... LABELS unit|fault|disk|net)
# A test sees what it links, plus tests/... (its own helpers and tests/support). The in-memory and
# fault-injecting file systems implement store/io's FileSystem, so a test gets them when it links the store.
function(th_test name)
  cmake_parse_arguments(TH "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${TH_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  th_linked_layers(layers ${TH_DEPS})
  set(support thruster_test_support)
  if("store" IN_LIST layers)
    list(APPEND support thruster_test_fs)
  endif()
  if(TARGET thruster_test_broker AND ("broker" IN_LIST layers OR "namesrv" IN_LIST layers))
    list(APPEND support thruster_test_broker)
  endif()
  target_link_libraries(${name} PRIVATE ${TH_DEPS} ${support} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_options(${name} PRIVATE ${TH_WARNINGS})
  if("unit" IN_LIST TH_LABELS)
    # A unit binary's cases take milliseconds each, less than starting the ASan binary (0.1-0.5 s), so CTest
    # runs each unit binary once, as one test; the others get one CTest test per case (gtest_discover_tests).
    add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
    set_tests_properties(${name} PROPERTIES LABELS "${TH_LABELS}")
  else()
    gtest_discover_tests(${name} PROPERTIES LABELS "${TH_LABELS}" DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
