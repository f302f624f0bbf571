# protocol_protocol also writes finished units to the results database (a sensor failing mid-trial
# keeps what finished): link the store. The test program is created after this file is included.
function(clear_protocol_link_store)
  if(TARGET protocol_protocol)
    target_link_libraries(protocol_protocol PRIVATE clear_store)
  endif()
endfunction()
cmake_language(DEFER CALL clear_protocol_link_store)
