# The client config file parser (signet login writes it, the CLI and the
# PKCS#11 module read it).
signet_fuzz_target(client_config signet_client)
