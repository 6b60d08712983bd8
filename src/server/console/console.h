/*
 * console.h - the web console's route tables, for http/routes.c.
 *
 * console/ sits beside api/: it may include api, auth, audit, store, core
 * and common (docs/ARCHITECTURE.md), and only http/ includes it.
 */
#ifndef SIGNET_CONSOLE_H
#define SIGNET_CONSOLE_H

#include "handler.h"

/* POST/GET/DELETE /v1/session (console_session.c) */
extern const struct api_route console_routes_session[];
/* "/", "/signin", the page paths and /assets/... (console_pages.c): match
 * these last. */
extern const struct api_route console_routes_pages[];

#endif
