/*
 * conntrack.h - per-connection phase deadlines and eviction for the HTTPS
 * front end (conntrack.c). Thread-safe; the watchdog is a thread of its own.
 */
#ifndef SIGNET_HTTP_CONNTRACK_H
#define SIGNET_HTTP_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#define CONNTRACK_IP_MAX	48

enum conntrack_phase {
	CONNTRACK_HEAD = 0,	/* TLS handshake, request line, headers */
	CONNTRACK_BODY,		/* request body */
	CONNTRACK_BUSY,		/* handler and response: no deadline */
	CONNTRACK_IDLE,		/* kept alive, waiting for the next request */
};

struct conntrack;
struct conntrack_entry;

/*
 * max: the connection limit; above max - max/8 every new connection drops
 * the oldest incomplete connection of the address holding the most.
 * Deadlines in seconds per phase. 0, SN_ERR_INVALID or SN_ERR_NOMEM.
 */
int conntrack_new(size_t max, int head_secs, int body_secs, int idle_secs,
    struct conntrack **out);
/* Stops the watchdog and frees everything; accepts NULL. */
void conntrack_free(struct conntrack *ct);
/* A new connection on socket fd (dup()ed) from ip; NULL on ENOMEM. */
struct conntrack_entry *conntrack_open(struct conntrack *ct, int fd,
    const char *ip);
/* Accept NULL ct or e (untracked connection). */
void conntrack_phase(struct conntrack *ct, struct conntrack_entry *e,
    enum conntrack_phase phase);
void conntrack_close(struct conntrack *ct, struct conntrack_entry *e);
/* Connections dropped for a deadline, and to make room. */
void conntrack_stats(struct conntrack *ct, uint64_t *deadline,
    uint64_t *evicted);

#endif
