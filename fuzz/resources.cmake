# The signing request parser (POST /v1/keys/{id}/sign) over a real SQLite
# database with key rows but no keeper: every input must end in a JSON error
# and never in a signature.
signet_fuzz_target(sign_request signet_server)
