# Building signet-pkcs11.so's token from a listing, in process: what a
# consumer that lists every key pays on top of the fetch.
add_executable(p11_token_bench p11_token_bench.c)
target_link_libraries(p11_token_bench PRIVATE signet_pkcs11_core)
