/*
 * console_assets.h - the web console's files, compiled into signetd by
 * cmake/embed_web.cmake (generated console_assets.c): nothing is read
 * from disk or fetched at run time.
 */
#ifndef SIGNET_CONSOLE_ASSETS_H
#define SIGNET_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char *name;		/* "app.js", "index.html" */
	const char *content_type;
	const char *etag;		/* quoted, from the content's SHA-256 */
	const unsigned char *data;
	size_t len;
};

/* "/assets/<build hash>": where every file but index.html is served. */
extern const char console_asset_base[];
/* Terminated by an entry with name NULL. */
extern const struct console_asset console_assets[];

#endif
