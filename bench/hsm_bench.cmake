# hsm_bench: raw in-process SoftHSM2 C_Sign rate next to the same signatures
# through the keeper process (standalone; makes its own temporary token).
# Included by bench/CMakeLists.txt's *.cmake glob.
if(TARGET signet_keeper)
  add_executable(hsm_bench ${CMAKE_CURRENT_LIST_DIR}/hsm_bench.c)
  target_include_directories(hsm_bench PRIVATE ${P11KIT_INCLUDE_DIRS})
  target_link_libraries(hsm_bench PRIVATE signet_keeper signet_common
                        ${CMAKE_DL_LIBS})
endif()
