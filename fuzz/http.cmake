# The request pipeline (routing, limits, auth, body parsing, every handler)
# driven without a socket over a real SQLite database.
signet_fuzz_target(http signet_server)
