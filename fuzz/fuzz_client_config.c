/*
 * fuzz_client_config.c - the client config parser on arbitrary text: it
 * accepts or returns SN_ERR_INVALID with a reason, never anything else; an
 * accepted config formats back to text that parses to the same values
 * (so `signet login` never writes a file it cannot read back), unless the
 * formatter refuses a value it cannot represent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "err.h"

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_client_config c, d;
	char why[256] = "", *text = NULL, *s;
	int r;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	r = sn_config_parse(s, &c, why, sizeof(why));
	if (r != 0 && r != SN_ERR_INVALID && r != SN_ERR_NOMEM)
		abort();
	if (r == SN_ERR_INVALID && why[0] == '\0')
		abort();
	if (r == 0 && sn_config_format(&c, &text) == 0) {
		if (sn_config_parse(text, &d, why, sizeof(why)) != 0 ||
		    !same(c.url, d.url) || !same(c.api_key, d.api_key) ||
		    !same(c.ca_file, d.ca_file) || !same(c.sa_name, d.sa_name) ||
		    !same(c.sa_id, d.sa_id) ||
		    !same(c.sa_key_file, d.sa_key_file) ||
		    !same(c.log_file, d.log_file))
			abort();
		free(text);
	}
	sn_config_clear(&c);
	sn_config_clear(&d);
	free(s);
	return 0;
}
