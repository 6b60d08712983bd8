# tlog_bench: the transparency log's own costs, in-process on a real SQLite
# database (append with and without the tree, proofs), and a filler for
# bench/tlog_bench.sh. Included by bench/CMakeLists.txt's *.cmake glob.
if(TARGET signet_server)
  add_executable(tlog_bench ${CMAKE_CURRENT_LIST_DIR}/tlog_bench.c)
  target_link_libraries(tlog_bench PRIVATE signet_server signet_common)
endif()
