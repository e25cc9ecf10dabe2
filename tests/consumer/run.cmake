# Installs tailor from its build tree into a scratch prefix, then configures, builds and
# runs the consumer project twice: against the install prefix and against the build tree.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

run(${CMAKE_COMMAND} --install "${TAILOR_BUILD_DIR}" --prefix "${prefix}")

foreach(kind installed build_tree)
  if(kind STREQUAL "installed")
    set(where "-DCMAKE_PREFIX_PATH=${prefix}")
  else()
    set(where "-Dtailor_DIR=${TAILOR_BUILD_DIR}")
  endif()
  set(bin "${WORK_DIR}/${kind}")
  run(${CMAKE_COMMAND} -S "${CMAKE_CURRENT_LIST_DIR}" -B "${bin}" -G "${GENERATOR}"
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release ${where})
  run(${CMAKE_COMMAND} --build "${bin}")
  run("${bin}/consumer")
endforeach()

# A plain `-I include` build needs nothing but the headers and Eigen.
run(${CXX} -std=c++20 -O1 -I "${TAILOR_SOURCE_DIR}/include" -I /usr/include/eigen3
    "${CMAKE_CURRENT_LIST_DIR}/main.cpp" -o "${WORK_DIR}/consumer_plain")
run("${WORK_DIR}/consumer_plain")
