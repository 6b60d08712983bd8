# CA parsers fed by users: subject DN strings and imported certificate chains.
signet_fuzz_target(ca_dn signet_ca)
signet_fuzz_target(ca_chain signet_ca)
