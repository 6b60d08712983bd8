/*
 * pages.c - listings that follow the server's next_cursor to the end
 * (docs/API.md "Paging"), so every `signet ... list` shows the whole list
 * however the server pages it.
 *
 * The server is not trusted to end the walk: a cursor seen twice, a page
 * that is not an object with the member array, or more than
 * CLI_PAGES_MAX pages stop it with an error rather than loop forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CLI_PAGES_MAX	100000	/* 10^8 items at 1000 a page */
#define CLI_PAGE_SIZE	((size_t)1000)	/* the server's maximum (API_PAGE_MAX) */

int
cli_get_all(struct cli *cli, const char *path, const char *member,
    size_t max_items, json_t **out)
{
	json_t *all = NULL, *resp = NULL, *items, *next;
	char *prev = NULL, *e = NULL, *url = NULL;
	const char *cur = NULL, *sep = strchr(path, '?') != NULL ? "&" : "?";
	size_t pages, i, len, want;
	int r = 0;

	*out = NULL;
	if ((all = json_array()) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	for (pages = 0; ; pages++) {
		if (pages >= CLI_PAGES_MAX) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "the server "
			    "returned more than %d pages", CLI_PAGES_MAX);
			goto out;
		}
		e = NULL;
		if (cur != NULL && (e = cli_esc(cur)) == NULL) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
			goto out;
		}
		len = strlen(path) + 64 + (e != NULL ? strlen(e) : 0);
		if ((url = malloc(len)) == NULL) {
			free(e);
			r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
			goto out;
		}
		/* Whole pages, or just what is left to read of max_items. */
		want = max_items > 0 && max_items - json_array_size(all) <
		    CLI_PAGE_SIZE ? max_items - json_array_size(all) :
		    CLI_PAGE_SIZE;
		snprintf(url, len, "%s%slimit=%zu%s%s", path, sep, want,
		    e != NULL ? "&cursor=" : "", e != NULL ? e : "");
		free(e);
		json_decref(resp);
		resp = NULL;
		r = cli_call(cli, "GET", url, NULL, &resp);
		free(url);
		url = NULL;
		if (r != 0)
			goto out;
		if (!json_is_array(items = json_object_get(resp, member))) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "the server's "
			    "answer has no '%s' list", member);
			goto out;
		}
		for (i = 0; i < json_array_size(items); i++) {
			if (max_items > 0 && json_array_size(all) >= max_items)
				break;
			json_array_append(all, json_array_get(items, i));
		}
		next = json_object_get(resp, "next_cursor");
		if (!json_is_string(next) ||
		    (max_items > 0 && json_array_size(all) >= max_items))
			break;
		if (prev != NULL && strcmp(prev, json_string_value(next)) == 0) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "the server "
			    "returned the same page cursor twice");
			goto out;
		}
		free(prev);
		if ((prev = strdup(json_string_value(next))) == NULL) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
			goto out;
		}
		cur = prev;
	}
	/* The whole list in the shape of one page, for --json. */
	if ((*out = json_pack("{s:O, s:n}", member, all, "next_cursor")) ==
	    NULL)
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
 out:
	free(prev);
	free(url);
	json_decref(resp);
	json_decref(all);
	return r;
}
