# Run at every build (cmake -P, from lib/CMakeLists.txt): writes OUTPUT from TEMPLATE with the
# commit the sources in SOURCE_DIR are at and whether tracked files differ from it. The file is
# rewritten only when that changes, so an unchanged tree recompiles nothing.
set(S2S_COMMIT unknown)
set(S2S_DIRTY false)
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse HEAD
                  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE commit_result ERROR_QUIET)
  if(commit_result EQUAL 0)
    set(S2S_COMMIT ${commit})
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} status --porcelain
                            --untracked-files=no
                    OUTPUT_VARIABLE status RESULT_VARIABLE status_result ERROR_QUIET)
    if(NOT status_result EQUAL 0 OR NOT status STREQUAL "")
      set(S2S_DIRTY true)
    endif()
  endif()
endif()
configure_file(${TEMPLATE} ${OUTPUT} @ONLY)
