# The signing request parser (POST /v1/keys/{id}/sign) over a real SQLite
# database with key rows but no keeper: every input must end in a JSON error
# and never in a signature. The database is put back after every input that
# wrote to it (fuzz_snapshot.h); the replay checks each restore.
signet_fuzz_target(sign_request signet_server SOURCES fuzz_snapshot.c)
set_tests_properties(fuzz_sign_request PROPERTIES ENVIRONMENT
  FUZZ_WORLD_CHECK=1)
