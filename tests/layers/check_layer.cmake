# cmake -D BUILD_DIR=... -D ALLOWED_TARGET=... -D FORBIDDEN_TARGET=... -D FORBIDDEN_HEADER=...
#       [-D FORBIDDEN_OBJECTS=...] -P check_layer.cmake
# Passes when ALLOWED_TARGET builds and FORBIDDEN_TARGET fails to build because FORBIDDEN_HEADER is not found.
foreach(var BUILD_DIR ALLOWED_TARGET FORBIDDEN_TARGET FORBIDDEN_HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_layer.cmake: ${var} is not set")
  endif()
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${ALLOWED_TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${ALLOWED_TARGET} should compile but did not:\n${out}")
endif()

# The forbidden probe is compiled afresh each time: an object left by an earlier run must not stand in for it.
if(DEFINED FORBIDDEN_OBJECTS)
  file(REMOVE ${FORBIDDEN_OBJECTS})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${FORBIDDEN_TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${FORBIDDEN_TARGET} compiled, so ${FORBIDDEN_HEADER} is visible where it must not be:\n${out}")
endif()
string(FIND "${out}" "${FORBIDDEN_HEADER}" at)
if(at EQUAL -1 OR NOT out MATCHES "No such file|not found")
  message(FATAL_ERROR "${FORBIDDEN_TARGET} failed, but not for want of ${FORBIDDEN_HEADER}:\n${out}")
endif()
message(STATUS "${FORBIDDEN_HEADER} is not visible in ${FORBIDDEN_TARGET}'s layer, as it must not be")
