# The request pipeline (routing, limits, auth, body parsing, every handler)
# driven without a socket over the fuzz world (fuzz_world.h).
signet_fuzz_target(http signet_server SOURCES ${SIGNET_FUZZ_WORLD})
# The JWT verifier and the token endpoint's replay store.
signet_fuzz_target(jwt signet_server SOURCES ${SIGNET_FUZZ_WORLD})
# The replays also check that each restore brought every table back to the
# snapshot (fuzz_world.h).
set_tests_properties(fuzz_http fuzz_jwt PROPERTIES ENVIRONMENT
  FUZZ_WORLD_CHECK=1)
