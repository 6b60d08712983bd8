/*
 * help.c - what `signet help COMMAND` and `signet COMMAND --help` print:
 * one table entry per command, one line per option, an example. The same
 * table drives the "did you mean" suggestions' candidates and the bash
 * completion (`signet help --complete WORDS...`), so a command added here
 * gets all three.
 *
 * Adding a command: add a `struct cli_help` entry below (cmd = the words
 * after "signet", as the handler passes them to cli_parse), with every
 * option the handler's cli_opt table accepts; `signet CMD --help` fails
 * (exit 1, "option --X has no help line") for an option left out, and
 * tests/e2e/cli_help.sh runs --help for every entry.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_help help[] = {
	{ "login", "signet login --url URL (--api-key KEY|- | --service-account NAME (--key-file PATH | --oidc-token-file PATH | --oidc-token-env VAR | [--oidc-audience AUD])) [--ca-file PEM] [--oidc-ca-file PEM]",
	  "Check the credentials against the service, then store the URL and credentials in the config file (mode 0600).",
	  "signet login --url https://signet.example.com:8443 --api-key - --ca-file server-ca.pem < key.txt", {
		{ "--url URL", "the service, https://HOST:PORT" },
		{ "--api-key KEY|-", "an API key; - reads it from stdin (keeps it out of ps)" },
		{ "--service-account NAME", "log in as this service account (with a key file or a CI ID token)" },
		{ "--key-file PATH", "the service account's private key (PEM)" },
		{ "--oidc-token-file PATH", "a federated account: read the CI's OIDC ID token from PATH at each refresh" },
		{ "--oidc-token-env VAR", "a federated account: the ID token is in the environment variable VAR" },
		{ "--oidc-audience AUD", "GitHub Actions: the audience to ask its token service for (default: the URL)" },
		{ "--ca-file PEM", "the certificate that signs the service's TLS certificate (DIR/server-ca.pem)" },
		{ "--oidc-ca-file PEM", "trust this CA for GitHub Actions' token service" },
	} },
	{ "logout", "signet logout", "Remove the stored credentials (the config file).",
	  "signet logout", { { NULL, NULL } } },
	{ "whoami", "signet whoami [--json]", "Show who the configured credentials belong to.",
	  "signet whoami", {
		{ "--json", "print the server's JSON" },
	} },
	{ "user create", "signet user create EMAIL [--role admin|user] [--json]",
	  "Create a user (admin). Prints the user's first API key alone on the last line.",
	  "signet user create dev@acme.test --role user | tail -n1 > dev.key", {
		{ "--role admin|user", "the tenant role (default user)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "user list", "signet user list [--json]", "List the tenant's users.",
	  "signet user list", { { "--json", "print the server's JSON" } } },
	{ "user disable", "signet user disable EMAIL [--json]",
	  "Block a user from authenticating (every API key stops working).",
	  "signet user disable dev@acme.test", { { "--json", "print the server's JSON" } } },
	{ "apikey create", "signet apikey create [--expires DURATION] [--description TEXT] [--user EMAIL] [--json]",
	  "Create an API key, shown once, alone on the last line of stdout.",
	  "signet apikey create --expires 90d --description laptop | tail -n1", {
		{ "--expires DURATION", "lifetime: 90d, 12h, 2w, 1y or seconds (default: none)" },
		{ "--description TEXT", "a note to recognise the key by" },
		{ "--user EMAIL", "for another user (admin)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "apikey list", "signet apikey list [--user EMAIL] [--json]", "List API keys (never the secrets).",
	  "signet apikey list", {
		{ "--user EMAIL", "another user's keys (admin)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "apikey revoke", "signet apikey revoke ID [--json]", "Revoke an API key for good.",
	  "signet apikey revoke apk_3f2a...", { { "--json", "print the server's JSON" } } },
	{ "team create", "signet team create NAME [--json]", "Create a team (admin).",
	  "signet team create release-eng", { { "--json", "print the server's JSON" } } },
	{ "team add-member", "signet team add-member TEAM EMAIL [--owner] [--json]",
	  "Add a user to a team.", "signet team add-member release-eng dev@acme.test --owner", {
		{ "--owner", "as a team owner (manages the team and its service accounts)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "team remove-member", "signet team remove-member TEAM EMAIL [--json]",
	  "Remove a user from a team.", "signet team remove-member release-eng dev@acme.test",
	  { { "--json", "print the server's JSON" } } },
	{ "team list", "signet team list [--json]", "List teams.", "signet team list",
	  { { "--json", "print the server's JSON" } } },
	{ "service-account keygen", "signet service-account keygen --out PATH [--algorithm ecdsa-p256|ecdsa-p384|rsa-3072]",
	  "Make a key pair on this machine (offline): writes the private key, prints the public key.",
	  "signet service-account keygen --out /etc/signet/ci.key > ci.pub", {
		{ "--out PATH", "where the private key goes (mode 0600)" },
		{ "--algorithm ALG", "ecdsa-p256 (default), ecdsa-p384 or rsa-3072 (an existing PATH is never replaced)" },
	} },
	{ "service-account create", "signet service-account create NAME --team TEAM (--public-key FILE | --oidc-only) [--json]",
	  "Register a service account owned by a team, with its public key (or none: federated CI only).",
	  "signet service-account create ci-builder --team release-eng --public-key ci.pub", {
		{ "--team TEAM", "the owning team" },
		{ "--public-key FILE", "the PEM public key keygen printed" },
		{ "--oidc-only", "no key: the account logs in only with federated CI ID tokens" },
		{ "--json", "print the server's JSON" },
	} },
	{ "service-account list", "signet service-account list [--json]", "List service accounts.",
	  "signet service-account list", { { "--json", "print the server's JSON" } } },
	{ "service-account rotate-key", "signet service-account rotate-key NAME --public-key FILE [--json]",
	  "Replace a service account's public key.",
	  "signet service-account rotate-key ci-builder --public-key ci2.pub", {
		{ "--public-key FILE", "the new PEM public key" },
		{ "--json", "print the server's JSON" },
	} },
	{ "service-account federate", "signet service-account federate NAME --issuer URL --audience AUD --claim KEY=PATTERN... [--max-token-age DURATION] [--json]",
	  "Trust a CI system's OIDC ID tokens for a service account (no key on the build machine; docs/CI.md).",
	  "signet service-account federate builder --issuer https://token.actions.githubusercontent.com --audience https://signet.example.com:8443 --claim repository=org/app", {
		{ "--issuer URL", "the token issuer (https)" },
		{ "--audience AUD", "the aud the tokens must carry" },
		{ "--claim KEY=PATTERN", "a claim the token must match (exact or glob); repeatable, at least one" },
		{ "--max-token-age DURATION", "refuse tokens issued longer ago than this (e.g. 15m)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "service-account federations", "signet service-account federations NAME [--json]",
	  "List a service account's federations.", "signet service-account federations builder",
	  { { "--json", "print the server's JSON" } } },
	{ "service-account unfederate", "signet service-account unfederate NAME ID [--json]",
	  "Remove a federation.", "signet service-account unfederate builder fed_3a1c...",
	  { { "--json", "print the server's JSON" } } },
	{ "service-account delete", "signet service-account delete NAME [--json]", "Delete a service account.",
	  "signet service-account delete ci-builder", { { "--json", "print the server's JSON" } } },
	{ "project create", "signet project create NAME [--json]", "Create a project (admin).",
	  "signet project create firmware", { { "--json", "print the server's JSON" } } },
	{ "project list", "signet project list [--json]", "List projects.", "signet project list",
	  { { "--json", "print the server's JSON" } } },
	{ "project add-owner", "signet project add-owner PROJECT (--user EMAIL | --team NAME) [--json]",
	  "Add an owner (manages the project's keys and signers).",
	  "signet project add-owner firmware --team release-eng", {
		{ "--user EMAIL", "a user" },
		{ "--team NAME", "a team" },
		{ "--json", "print the server's JSON" },
	} },
	{ "project add-signer", "signet project add-signer PROJECT (--user EMAIL | --team NAME | --service-account NAME) [--json]",
	  "Authorize a user, team or service account to sign with every key of the project.",
	  "signet project add-signer firmware --service-account ci-builder", {
		{ "--user EMAIL", "a user" },
		{ "--team NAME", "every member of a team" },
		{ "--service-account NAME", "a service account" },
		{ "--json", "print the server's JSON" },
	} },
	{ "project remove-signer", "signet project remove-signer PROJECT (--user EMAIL | --team NAME | --service-account NAME) [--json]",
	  "Remove an authorized signer.", "signet project remove-signer firmware --user dev@acme.test", {
		{ "--user EMAIL", "a user" },
		{ "--team NAME", "a team" },
		{ "--service-account NAME", "a service account" },
		{ "--json", "print the server's JSON" },
	} },
	{ "project signers", "signet project signers PROJECT [--json]", "List a project's authorized signers.",
	  "signet project signers firmware", { { "--json", "print the server's JSON" } } },
	{ "key create", "signet key create PROJECT NAME --algorithm ALG [--validity DURATION] [--ca builtin|external|none] [--subject DN] [--allow-sha1] [--json]",
	  "Create a signing key: the key pair is generated in the HSM, non-extractable.",
	  "signet key create firmware release --algorithm ecdsa-p256 --validity 365d --ca builtin", {
		{ "--algorithm ALG", "rsa-2048, rsa-3072, rsa-4096, ecdsa-p256 or ecdsa-p384 (required)" },
		{ "--validity DURATION", "how long the key may sign: 365d, 2y, ... (default 1y)" },
		{ "--ca builtin|external|none", "who certifies it (default builtin)" },
		{ "--subject DN", "certificate subject (default CN=NAME, OU=PROJECT, O=TENANT)" },
		{ "--allow-sha1", "also sign SHA-1 digests (legacy verifiers only)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "key list", "signet key list [--project P] [--expiring DURATION] [--json]", "List signing keys.",
	  "signet key list --project firmware", {
		{ "--project P", "only this project's keys" },
		{ "--expiring DURATION", "only keys whose validity ends within DURATION" },
		{ "--json", "print the server's JSON" },
	} },
	{ "key show", "signet key show KEY [--json]", "Show a key: state, validity, certificate, PKCS#11 URI, public key.",
	  "signet key show firmware/release --json | jq -r .key.public_key > release.pub",
	  { { "--json", "print the server's JSON" } } },
	{ "key disable", "signet key disable KEY [--json]", "Stop a key from signing (enable undoes it).",
	  "signet key disable firmware/release", { { "--json", "print the server's JSON" } } },
	{ "key enable", "signet key enable KEY [--json]", "Allow a disabled key to sign again.",
	  "signet key enable firmware/release", { { "--json", "print the server's JSON" } } },
	{ "key revoke", "signet key revoke KEY [--reason unspecified|key-compromise|superseded|cessation-of-operation] [--compromised-at TIME] [--json]",
	  "Revoke a key for good (its certificate goes on the CRL and OCSP answers revoked).",
	  "signet key revoke firmware/release --reason key-compromise --compromised-at 2026-11-30T12:00:00Z", {
		{ "--reason REASON", "unspecified, key-compromise, superseded or cessation-of-operation" },
		{ "--compromised-at TIME", "key-compromise: since when (RFC 3339)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "key renew", "signet key renew KEY [--validity DURATION] [--json]",
	  "A new certificate for the same key pair.", "signet key renew firmware/release --validity 365d", {
		{ "--validity DURATION", "how long the new certificate is valid" },
		{ "--json", "print the server's JSON" },
	} },
	{ "key rotate", "signet key rotate KEY [--validity DURATION] [--json]",
	  "A new key pair in the HSM as the key's next version.", "signet key rotate firmware/release", {
		{ "--validity DURATION", "how long the new version may sign" },
		{ "--json", "print the server's JSON" },
	} },
	{ "key versions", "signet key versions KEY [--json]", "A key's versions and their certificates.",
	  "signet key versions firmware/release", { { "--json", "print the server's JSON" } } },
	{ "key delete", "signet key delete KEY [--json]", "Delete a key and its HSM object.",
	  "signet key delete firmware/old", { { "--json", "print the server's JSON" } } },
	{ "key csr", "signet key csr KEY [--subject DN] [--json]", "Print a certificate request for an external CA.",
	  "signet key csr firmware/ext > ext.csr", {
		{ "--subject DN", "the subject to request (default: the key's)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "key import-cert", "signet key import-cert KEY --chain PEM [--json]",
	  "Import the chain an external CA issued for the key's CSR.",
	  "signet key import-cert firmware/ext --chain issued-chain.pem", {
		{ "--chain PEM", "leaf first, then the CA certificates" },
		{ "--json", "print the server's JSON" },
	} },
	{ "policy set", "signet policy set KEY [--mechanisms LIST] [--digests LIST] [--window SPEC]... [--max-signatures N/PERIOD] [--source CIDR]... [--approval TEAM [--approvals K] [--approval-ttl DURATION]] [--json]",
	  "Set (replace) a key's signing policy (admin, project owner); each rule given restricts signing further.",
	  "signet policy set firmware/release --digests sha256,sha384 --window 'Mon-Fri 08:00-18:00 Europe/Berlin' --max-signatures 100/day --source 192.0.2.0/24", {
		{ "--mechanisms LIST", "allowed mechanisms, comma-separated: rsa-pkcs1, rsa-pss, ecdsa" },
		{ "--digests LIST", "allowed digests, comma-separated: sha256, sha384, sha512" },
		{ "--window SPEC", "'DAYS HH:MM-HH:MM ZONE', e.g. 'Mon-Fri 08:00-18:00 Europe/Berlin' (repeatable: any one allows)" },
		{ "--max-signatures N/PERIOD", "at most N signatures per hour, day, week or month (UTC periods)" },
		{ "--source CIDR", "sign only from this IPv4/IPv6 network (repeatable)" },
		{ "--approval TEAM", "each signing request needs approval by members of TEAM (not the requester)" },
		{ "--approvals K", "approvals needed, 1 to 10 (default 1)" },
		{ "--approval-ttl DURATION", "how long a request waits for its approvals, and an approval for its use (default 24h)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "policy show", "signet policy show KEY [--json]", "Show a key's signing policy (anyone who may view the key).",
	  "signet policy show firmware/release", { { "--json", "print the server's JSON" } } },
	{ "policy clear", "signet policy clear KEY [--json]", "Remove a key's signing policy (admin, project owner).",
	  "signet policy clear firmware/release", { { "--json", "print the server's JSON" } } },
	{ "approval list", "signet approval list [--pending] [--json]", "Approvals you asked for, and those your teams decide (admins: all).",
	  "signet approval list --pending", {
		{ "--pending", "only requests still waiting for a decision" },
		{ "--json", "print the server's JSON" },
	} },
	{ "approval show", "signet approval show ID [--json]", "One approval: who asks, for which key, from which host and process, the digests, the votes.",
	  "signet approval show apr_0123456789abcdef", { { "--json", "print the server's JSON" } } },
	{ "approval approve", "signet approval approve ID [--comment TEXT] [--json]", "Approve a signing request (a member of the approval team, not the requester).",
	  "signet approval approve apr_0123456789abcdef --comment 'release 2.1, tag checked'", {
		{ "--comment TEXT", "a note kept with the vote" },
		{ "--json", "print the server's JSON" },
	} },
	{ "approval deny", "signet approval deny ID --reason TEXT [--json]", "Deny a signing request: one deny rejects it.",
	  "signet approval deny apr_0123456789abcdef --reason 'not a release build'", {
		{ "--reason TEXT", "why (required; the requester sees it)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "approval grant", "signet approval grant KEY --to PRINCIPAL --max N --for DURATION [--json]", "Pre-approve: PRINCIPAL's next N signatures with KEY within DURATION need no approval (a member of the key's approval team, never for yourself).",
	  "signet approval grant firmware/release --to ci-bot --max 20 --for 8h", {
		{ "--to PRINCIPAL", "a user's email (or user:EMAIL) or a service account's name (or service-account:NAME)" },
		{ "--max N", "signatures granted, 1 to 1000000 (each digest of a batch counts)" },
		{ "--for DURATION", "how long the grant lasts, 60s to 30d" },
		{ "--json", "print the server's JSON" },
	} },
	{ "approval grants", "signet approval grants KEY [--all] [--json]", "The pre-approval grants of a key (active ones unless --all).",
	  "signet approval grants firmware/release --all", {
		{ "--all", "also used, expired and revoked grants" },
		{ "--json", "print the server's JSON" },
	} },
	{ "approval revoke-grant", "signet approval revoke-grant KEY GRANT_ID [--json]", "Revoke a pre-approval grant (members of its team, admins).",
	  "signet approval revoke-grant firmware/release grt_0123456789abcdef", { { "--json", "print the server's JSON" } } },
	{ "approval request", "signet approval request KEY --in FILE... [--digest sha256|sha384|sha512] [--json]", "Hash files here and ask approval for exactly those digests; once approved, signing those files is immediate.",
	  "signet approval request firmware/release --in fw-1.2.bin --in fw-1.2-recovery.bin", {
		{ "--in FILE", "a file to declare (repeatable); only its digest is sent" },
		{ "--digest ALG", "the digest algorithm the files will be signed with (default sha256)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "webhook add", "signet webhook add URL --events LIST [--json]", "Add an HTTPS receiver of approval events (admin). Prints the signing secret once, on the last line.",
	  "signet webhook add https://hooks.acme.test/signet --events approval.requested,approval.decided,approval.expired", {
		{ "--events LIST", "comma-separated: approval.requested, approval.decided, approval.expired" },
		{ "--json", "print the server's JSON" },
	} },
	{ "webhook list", "signet webhook list [--json]", "The tenant's webhooks (admin).",
	  "signet webhook list", { { "--json", "print the server's JSON" } } },
	{ "webhook remove", "signet webhook remove ID [--json]", "Remove a webhook and its queued deliveries (admin).",
	  "signet webhook remove whk_0123456789abcdef", { { "--json", "print the server's JSON" } } },
	{ "webhook deliveries", "signet webhook deliveries ID [--json]", "Every delivery of a webhook: state, attempts, last HTTP status and error (admin).",
	  "signet webhook deliveries whk_0123456789abcdef", { { "--json", "print the server's JSON" } } },
	{ "keys", "signet keys [--json]", "The keys you may sign with, each with the PKCS#11 URI that names it and what its policy leaves (LEFT).",
	  "signet keys", { { "--json", "print the server's JSON" } } },
	{ "cert", "signet cert KEY [--chain] [--json]", "Print a key's certificate (PEM) to stdout.",
	  "signet cert firmware/release --chain > chain.pem", {
		{ "--chain", "the CA certificates too (leaf, issuing CA, root)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "sign", "signet sign --key KEY --in FILE|DIR|- [--in ...] [--out SIG|- | --out-dir DIR] [--recursive] [--include GLOB] [--digest sha256|sha384|sha512] [--pss] [--format raw|cms] [--pem] [--timestamp] [--force] [--jobs N] [--wait DURATION] [--json]",
	  "Hash files here and sign the digests remotely, many files in one command (hashed in parallel, sent in batches). Each signature goes beside its file (FILE.sig, FILE.p7s for cms), under --out-dir, or to --out; raw signatures are what openssl dgst -verify accepts, cms what openssl cms -verify accepts.",
	  "signet sign --key firmware/release --in dist --recursive --include '*.bin' --out-dir sigs", {
		{ "--key KEY", "PROJECT/KEY or a key id (required)" },
		{ "--in FILE|DIR|-", "a file, a directory's files, or - for standard input; repeatable (required)" },
		{ "--out SIG|-", "the signature of the one file; - writes standard output" },
		{ "--out-dir DIR", "signatures under DIR, by path relative to each --in" },
		{ "--recursive", "--in DIR signs its whole tree, not just its files" },
		{ "--include GLOB", "only files whose name (or path, if GLOB has a /) matches" },
		{ "--digest ALG", "sha256 (default), sha384 or sha512" },
		{ "--pss", "RSA-PSS instead of PKCS#1 v1.5 (RSA keys, raw format)" },
		{ "--format raw|cms", "a bare signature (default) or a detached CMS with the chain" },
		{ "--pem", "PEM instead of DER (cms format)" },
		{ "--timestamp", "add an RFC 3161 timestamp from the tenant's TSA (cms format)" },
		{ "--force", "replace existing signature files (else: refused, nothing signed)" },
		{ "--jobs N", "hashing threads (default: the number of CPUs)" },
		{ "--wait DURATION", "a key that needs approval: wait up to DURATION for the decision, then sign (exit 1 if denied or expired)" },
		{ "--json", "print a summary: key, count, seconds, file -> signature" },
	} },
	{ "pkcs11-module", "signet pkcs11-module", "Print the installed PKCS#11 module's path (SIGNET_PKCS11_MODULE overrides it).",
	  "osslsigncode sign -pkcs11module \"$(signet pkcs11-module)\" ...", { { NULL, NULL } } },
	{ "ca list", "signet ca list [--json]", "List the tenant's certificate authorities.",
	  "signet ca list", { { "--json", "print the server's JSON" } } },
	{ "ca cert", "signet ca cert [NAME] [--json]", "Print a CA certificate (default: the root, what verifiers trust).",
	  "signet ca cert > root.pem", { { "--json", "print the server's JSON" } } },
	{ "tsa url", "signet tsa url [--json]", "Print the tenant's RFC 3161 timestamping URL.",
	  "signet tsa url", { { "--json", "print the server's JSON" } } },
	{ "tsa cert", "signet tsa cert [--chain] [--json]", "Print the TSA certificate (PEM).",
	  "signet tsa cert --chain > tsa-chain.pem", {
		{ "--chain", "and its CA certificates" },
		{ "--json", "print the server's JSON" },
	} },
	{ "audit list", "signet audit list [--key KEY] [--since TIME|DURATION] [--after SEQ] [--limit N] [--json]",
	  "List audit events (admin), oldest first.", "signet audit list --key firmware/release --since 24h", {
		{ "--key KEY", "only events about this key" },
		{ "--since TIME|DURATION", "an RFC 3339 time, or how far back (24h, 7d)" },
		{ "--after SEQ", "only events after this sequence number" },
		{ "--limit N", "at most N events (default: every event, page after page)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "audit verify", "signet audit verify [--full] [--log-key KEY] [--json]",
	  "Check the tenant's audit log here against its signed checkpoints (hash chain, Merkle tree, consistency with the last verified checkpoint).",
	  "signet audit verify", {
		{ "--full", "re-read and recompute every event, not only the new ones" },
		{ "--log-key KEY", "the log's verifier key to expect (else pinned on first use)" },
		{ "--json", "print the result as JSON" },
	} },
	{ "audit checkpoint", "signet audit checkpoint [--log-key KEY] [--json]",
	  "Print the newest signed checkpoint after checking its signature.", "signet audit checkpoint", {
		{ "--log-key KEY", "check with this verifier key (else the one fetched)" },
		{ "--json", "print the server's JSON" },
	} },
	{ "audit log-key", "signet audit log-key [--json]", "Print the audit log's verifier key.",
	  "signet audit log-key", { { "--json", "print the server's JSON" } } },
	{ "audit prove", "signet audit prove (--seq N | --signature FILE --in FILE)",
	  "Write an offline proof bundle that an event (or the signature of a file) is in the signed log.",
	  "signet audit prove --signature app.sig --in app.bin > app.proof", {
		{ "--seq N", "the event with this sequence number" },
		{ "--signature FILE", "the event that released this signature (with --in)" },
		{ "--in FILE", "the file that signature is over" },
	} },
	{ "audit verify-proof", "signet audit verify-proof BUNDLE --log-key KEY [--json]",
	  "Check a proof bundle offline against the log's verifier key.",
	  "signet audit verify-proof app.proof --log-key 'signet/ten_...+cdf3f05a+AT...'", {
		{ "--log-key KEY", "the log's verifier key (required)" },
		{ "--json", "print the result as JSON" },
	} },
	{ "help", "signet help [COMMAND...]", "Describe a command: every option in a line, and an example.",
	  "signet help key create", { { NULL, NULL } } },
};

#define NHELP	(sizeof(help) / sizeof(help[0]))

const struct cli_help *
cli_help_find(const char *cmd)
{
	for (size_t i = 0; i < NHELP; i++) {
		if (strcmp(help[i].cmd, cmd) == 0)
			return &help[i];
	}
	return NULL;
}

const struct cli_help *
cli_help_table(size_t *n)
{
	*n = NHELP;
	return help;
}

void
cli_help_print(FILE *f, const struct cli_help *h)
{
	size_t w = 0, l;

	fprintf(f, "usage: %s\n\n%s\n", h->usage, h->summary);
	for (size_t i = 0; i < CLI_HELP_MAX_OPTS && h->opts[i].name; i++) {
		if ((l = strlen(h->opts[i].name)) > w)
			w = l;
	}
	if (h->opts[0].name != NULL)
		fprintf(f, "\noptions:\n");
	for (size_t i = 0; i < CLI_HELP_MAX_OPTS && h->opts[i].name; i++)
		fprintf(f, "  %-*s  %s\n", (int)w, h->opts[i].name,
		    h->opts[i].desc);
	fprintf(f, "  %-*s  %s\n", (int)w, "--help", "this text");
	fprintf(f, "\nexample:\n  %s\n", h->example);
}

/* 1 if h documents the option --name (its line starts with it). */
int
cli_help_has_opt(const struct cli_help *h, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < CLI_HELP_MAX_OPTS && h->opts[i].name; i++) {
		const char *o = h->opts[i].name;

		if (strncmp(o, "--", 2) == 0 && strncmp(o + 2, name, n) == 0 &&
		    (o[2 + n] == '\0' || o[2 + n] == ' '))
			return 1;
	}
	return 0;
}

/*
 * Edit distance (insert, delete, substitute, swap of neighbours) between
 * two short words; words longer than 64 bytes are "far".
 */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[65][65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	}
	return d[la][lb];
}

const char *
cli_nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bd = (size_t)-1, d, len = strlen(word);
	/* Close enough to be a typo: 1 edit for short words, 2 beyond. */
	size_t max = len <= 3 ? 1 : 2;

	for (size_t i = 0; i < n; i++) {
		if (cands[i] == NULL)
			continue;
		d = distance(word, cands[i]);
		/* A prefix ("proj" for "project") counts as near too. */
		if (len >= 3 && strncmp(cands[i], word, len) == 0)
			d = 1;
		if (d < bd) {
			bd = d;
			best = cands[i];
		}
	}
	return bd <= max ? best : NULL;
}

/*
 * `signet help --complete WORDS...`: the words that may come next, one a
 * line. After a group, its subcommands; after a command, its options.
 * Words after the command (option values, file names) do not matter.
 */
int
cli_help_complete(int argc, char **argv)
{
	char cmd[128], last[64] = "";
	const struct cli_help *h = NULL;
	size_t i;

	/* argv: the words typed so far, skipping options and values. */
	if (argc >= 1) {
		snprintf(cmd, sizeof(cmd), "%s", argv[0]);
		if ((h = cli_help_find(cmd)) == NULL && argc >= 2) {
			snprintf(cmd, sizeof(cmd), "%s %s", argv[0], argv[1]);
			h = cli_help_find(cmd);
		}
	}
	if (h != NULL) {
		for (i = 0; i < CLI_HELP_MAX_OPTS && h->opts[i].name; i++) {
			const char *o = h->opts[i].name, *sp = strchr(o, ' ');

			printf("%.*s\n", (int)(sp ? (size_t)(sp - o) :
			    strlen(o)), o);
		}
		printf("--help\n");
		return 0;
	}
	for (i = 0; i < NHELP; i++) {
		const char *w = help[i].cmd;
		size_t n = strcspn(w, " ");

		if (argc == 0) {
			/* First words, each once (the table is grouped). */
			if (n == strlen(last) && strncmp(w, last, n) == 0)
				continue;
			snprintf(last, sizeof(last), "%.*s", (int)n, w);
			printf("%s\n", last);
			continue;
		}
		if (n == strlen(argv[0]) && strncmp(w, argv[0], n) == 0 &&
		    w[n] == ' ')
			printf("%s\n", w + n + 1);
	}
	return 0;
}
