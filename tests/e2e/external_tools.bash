# external_tools.bash - sourced by e2e scripts whose external tools (pkcs11-tool,
# openssl with the pkcs11 engine, osslsigncode, java) load signet-pkcs11.so.
#
# In the sanitizer build the module is instrumented with ASan, and ASan refuses
# to run inside a program that did not load its runtime first. scripts/test.sh
# exports SIGNET_TEST_PRELOAD (the libasan path) in that build; here every such
# tool is wrapped to preload it. Leak checking is off for these processes: the
# tools' own leaks are not ours (our module's leaks are checked by the
# instrumented fixtures in tests/fixtures, which run with leak detection on).
# The JVM uses SIGSEGV internally, so ASan must not take that signal over.
# In normal builds SIGNET_TEST_PRELOAD is empty and nothing is wrapped.
if [[ -n ${SIGNET_TEST_PRELOAD:-} ]]; then
	_e2e_asan_tool_opts="detect_leaks=0:handle_segv=0:allow_user_segv_handler=1"
	for _t in pkcs11-tool openssl osslsigncode jarsigner keytool java timeout p11-kit \
	    p11tool certtool certutil modutil signtool vfychain apksigner sbsign sbverify; do
		eval "$_t() { LD_PRELOAD=\"\$SIGNET_TEST_PRELOAD\" ASAN_OPTIONS=\"$_e2e_asan_tool_opts\" command $_t \"\$@\"; }"
	done
	unset _t
fi
