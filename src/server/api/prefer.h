/*
 * prefer.h - the Prefer request header (RFC 7240): which preferences a
 * request states. signetd honours one, "return=minimal" on signing (the
 * answer leaves out the audit event the caller did not ask for; docs/
 * API.md "Sign"). Preferences are advice: one not understood, or a field
 * that does not parse, is ignored, never an error (RFC 7240 section 2).
 */
#ifndef SIGNET_PREFER_H
#define SIGNET_PREFER_H

/*
 * 1 if the Prefer field value v (NULL: none) states the preference
 * name=value (compared case-insensitively; a quoted-string value by its
 * content between the quotes); else 0. A value that does
 * not follow the grammar (1#preference, ";"-parameters, quoted strings)
 * states nothing from the first malformed element on.
 */
int prefer_has(const char *v, const char *name, const char *value);

#endif
