# signet-pkcs11.so's readers of what the service sends: the certificate
# fields of a token's certificate objects.
signet_fuzz_target(p11_cert signet_pkcs11_core)
