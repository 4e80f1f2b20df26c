# Writes OUTPUT from TEMPLATE with VERSION and the commit of SOURCE_DIR ("unknown" outside git,
# e.g. a source tarball). configure_file leaves OUTPUT untouched when nothing changed.
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE git_result ERROR_QUIET)
if(NOT git_result EQUAL 0 OR COMMIT STREQUAL "")
  set(COMMIT unknown)
endif()
configure_file("${TEMPLATE}" "${OUTPUT}" @ONLY)
