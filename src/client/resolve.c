/*
 * resolve.c - name resolution without threads, for a PKCS#11 application
 * that calls C_Initialize with CKF_LIBRARY_CANT_CREATE_OS_THREADS (GnuTLS,
 * p11-kit's proxy on behalf of its callers).
 *
 * libcurl's threaded resolver starts a thread for every name it looks up.
 * To honour the flag, the client looks the service's host name up itself,
 * with getaddrinfo() in the calling thread, and hands libcurl the answer
 * as a CURLOPT_RESOLVE entry, so libcurl finds the name in its cache and
 * never starts the resolver. An IP literal needs no lookup at all (libcurl
 * converts those itself, without a thread).
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <curl/curl.h>

#include "client.h"
#include "err.h"

#define RESOLVE_MAX_ADDRS	8

int
sn_resolve_pin(const char *url, struct curl_slist **out, char *why,
    size_t whylen)
{
	struct addrinfo hints, *ai = NULL, *p;
	CURLU *u = NULL;
	char *host = NULL, *port = NULL;
	char entry[1024], addr[INET6_ADDRSTRLEN];
	size_t o;
	int n = 0, rc, r = SN_ERR_INVALID;

	*out = NULL;
	if ((u = curl_url()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		snprintf(why, whylen, "cannot parse the server URL");
		goto out;
	}
	/* IP literals ("[::1]" keeps its brackets here) are not looked up. */
	if (host[0] == '[' || inet_pton(AF_INET, host, addr) == 1) {
		r = 0;
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		r = SN_ERR_NETWORK;
		goto out;
	}
	o = (size_t)snprintf(entry, sizeof(entry), "%s:%s:", host, port);
	for (p = ai; p != NULL && n < RESOLVE_MAX_ADDRS; p = p->ai_next) {
		const void *a;
		int v6 = p->ai_family == AF_INET6;

		if (p->ai_family == AF_INET)
			a = &((struct sockaddr_in *)(void *)p->ai_addr)->sin_addr;
		else if (v6)
			a = &((struct sockaddr_in6 *)(void *)p->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(p->ai_family, a, addr, sizeof(addr)) == NULL)
			continue;
		if (o >= sizeof(entry) || (size_t)snprintf(entry + o,
		    sizeof(entry) - o, "%s%s%s%s", n > 0 ? "," : "",
		    v6 ? "[" : "", addr, v6 ? "]" : "") >= sizeof(entry) - o)
			break;
		o += strlen(entry + o);
		n++;
	}
	if (n == 0) {
		snprintf(why, whylen, "cannot resolve %s: no address", host);
		r = SN_ERR_NETWORK;
		goto out;
	}
	if ((*out = curl_slist_append(NULL, entry)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	if (ai != NULL)
		freeaddrinfo(ai);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}
