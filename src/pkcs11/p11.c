/*
 * p11.c - the PKCS#11 v2.40 entry points of signet-pkcs11.so.
 *
 * The module shows one slot holding one read-only token, "Signet", whose
 * objects are the keys the configured identity may sign with, fetched from
 * GET /v1/me/keys when a search first asks for them: the one key the
 * template names (?key=), or all of them. Signing hashes locally and sends
 * only the digest to signetd (POST /v1/keys/{id}/sign).
 *
 * Concurrency: one global mutex guards the module state (token, sessions,
 * counters). It is never held across a network request or while hashing
 * caller data: a session's operation is marked busy, the work done
 * unlocked, and the result folded back under the lock. C_Finalize waits for
 * requests in flight. The signet client is thread-safe (a pool of up to 8
 * kept-alive connections, docs/internals/CLIENT.md).
 *
 * Fork: pthread_atfork keeps the global mutex consistent; a child may keep
 * using the state it inherited (the client opens a fresh connection), and a
 * C_Initialize in the child is accepted as the spec asks.
 *
 * This module must never write to stdout (consumers own it) and never log
 * credentials. Diagnostics are one line each, to stderr or the config's
 * log_file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "client.h"
#include "err.h"
#include "p11_int.h"
#include "util.h"

#define P11_MAX_SESSIONS	256
#define P11_EXPORT		__attribute__((visibility("default")))

/* The entry points this read-only signing token does not offer. */
#define P11_UNSUPPORTED(name, params)					\
	P11_EXPORT CK_RV name params { return CKR_FUNCTION_NOT_SUPPORTED; }
/* The legacy parallel-function calls (PKCS#11 v2.40 section 5.15). */
#define P11_NOT_PARALLEL(name, params)					\
	P11_EXPORT CK_RV name params { return CKR_FUNCTION_NOT_PARALLEL; }

struct p11_signop {
	int active;
	int busy;		/* being worked on outside the lock */
	int updated;		/* C_SignUpdate was called */
	const struct p11_mech_info *mi;
	enum sn_hash pss_hash;
	const struct p11_object *key;
	EVP_MD_CTX *md;		/* hash-and-sign mechanisms */
	uint8_t buf[P11_MAX_RAW_INPUT];	/* raw mechanisms, multi-part */
	size_t buflen;
};

struct p11_session {
	CK_SESSION_HANDLE h;
	CK_FLAGS flags;
	int finding;
	CK_OBJECT_HANDLE *found;
	size_t nfound;
	size_t fpos;
	struct p11_signop op;	/* C_Sign* */
	struct p11_signop vop;	/* C_Verify* (local, see p11_verify.c) */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_idle = PTHREAD_COND_INITIALIZER;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static struct {
	int initialized;
	pid_t pid;
	int logged_in;
	struct sn_client *client;
	struct p11_token *token;
	char serial[17];
	struct p11_session *sessions[P11_MAX_SESSIONS];
	size_t nsessions;
	CK_SESSION_HANDLE next_handle;
	unsigned inflight;	/* requests running outside the lock */
	int finalizing;		/* C_Finalize waits for inflight to drain */
} g;

/* Written only by C_Initialize/C_Finalize with no request in flight. */
static char g_log_path[PATH_MAX];
static int64_t g_approval_wait;	/* approval_wait, seconds (0: never) */
static int g_cache_on;		/* listing_cache (default on) */
static int64_t g_cache_ttl;	/* listing_cache_ttl: seconds used unasked */
static char g_cache_name[P11_CACHE_NAME_LEN];	/* "": no cache */

static CK_FUNCTION_LIST function_list;

/*
 * One diagnostic line, written with one write(2) so lines from concurrent
 * threads do not interleave.
 */
static void __attribute__((format(printf, 1, 2)))
p11_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, m, fd = STDERR_FILENO, opened = 0;

	n = snprintf(line, sizeof(line), "signet-pkcs11: ");
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* The server's words may hold a newline or a terminal escape. */
	for (int i = 0; i < n; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	}
	line[n++] = '\n';
	if (g_log_path[0] != '\0') {
		fd = open(g_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
		if (fd < 0)
			fd = STDERR_FILENO;
		else
			opened = 1;
	}
	if (write(fd, line, (size_t)n) < 0) {
		/* Nowhere left to report to. */
	}
	if (opened)
		close(fd);
}

static void
op_clear(struct p11_signop *op)
{
	EVP_MD_CTX_free(op->md);
	explicit_bzero(op, sizeof(*op));
}

static void
session_free(struct p11_session *s)
{
	if (s == NULL)
		return;
	op_clear(&s->op);
	op_clear(&s->vop);
	free(s->found);
	free(s);
}

/* Under g_lock. */
static struct p11_session *
session_get(CK_SESSION_HANDLE h)
{
	for (size_t i = 0; i < P11_MAX_SESSIONS; i++) {
		if (g.sessions[i] != NULL && g.sessions[i]->h == h)
			return g.sessions[i];
	}
	return NULL;
}

/*
 * The common start of a session call: takes g_lock (the caller releases it
 * on every path) and finds the session.
 */
static CK_RV
session_lock(CK_SESSION_HANDLE h, struct p11_session **s)
{
	*s = NULL;
	pthread_mutex_lock(&g_lock);
	if (!g.initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if ((*s = session_get(h)) == NULL)
		return CKR_SESSION_HANDLE_INVALID;
	return CKR_OK;
}

/*
 * The same for slot calls: takes g_lock (the caller releases it), checks
 * the slot and the caller's output pointer.
 */
static CK_RV
slot_lock(CK_SLOT_ID slot, const void *out)
{
	pthread_mutex_lock(&g_lock);
	if (!g.initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (slot != P11_SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	return CKR_OK;
}

/* Under g_lock: how many open sessions are read-write. */
static CK_ULONG
rw_sessions(void)
{
	CK_ULONG n = 0;

	for (size_t i = 0; i < P11_MAX_SESSIONS; i++) {
		if (g.sessions[i] != NULL &&
		    (g.sessions[i]->flags & CKF_RW_SESSION))
			n++;
	}
	return n;
}

/*
 * The answer to every call that would write to the token: the session
 * must exist; a read-only one says so, and otherwise the token is write
 * protected (PKCS#11 v2.40 section 5.7: objects of a write-protected
 * token cannot be created, copied, changed or destroyed).
 */
static CK_RV
write_refused(CK_SESSION_HANDLE h)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(h, &s)) == CKR_OK)
		rv = (s->flags & CKF_RW_SESSION) ? CKR_TOKEN_WRITE_PROTECTED :
		    CKR_SESSION_READ_ONLY;
	pthread_mutex_unlock(&g_lock);
	return rv;
}

/* Entry points that would write to the token (see write_refused). */
#define P11_WRITE_REFUSED(name, params)					\
	P11_EXPORT CK_RV name params { return write_refused(hSession); }

static void state_free(void);

static void
atfork_prepare(void)
{
	pthread_mutex_lock(&g_lock);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&g_lock);
}

static void
atfork_child(void)
{
	/*
	 * Threads that were signing in the parent do not exist here: their
	 * operations are abandoned, and nothing is in flight any more.
	 */
	for (size_t i = 0; i < P11_MAX_SESSIONS; i++) {
		if (g.sessions[i] != NULL && g.sessions[i]->op.busy)
			op_clear(&g.sessions[i]->op);
		if (g.sessions[i] != NULL && g.sessions[i]->vop.busy)
			op_clear(&g.sessions[i]->vop);
	}
	g.inflight = 0;
	pthread_cond_init(&g_idle, NULL);
	/* A C_Finalize that was waiting in the parent has nothing to wait
	 * for here: finish it. */
	if (g.finalizing) {
		state_free();
		g.finalizing = 0;
	}
	pthread_mutex_unlock(&g_lock);
}

static void
register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void
state_free(void)
{
	for (size_t i = 0; i < P11_MAX_SESSIONS; i++) {
		session_free(g.sessions[i]);
		g.sessions[i] = NULL;
	}
	g.nsessions = 0;
	p11_token_free(g.token);
	g.token = NULL;
	sn_client_free(g.client);
	g.client = NULL;
	g.initialized = 0;
	g.logged_in = 0;
	g_log_path[0] = '\0';
	g_cache_name[0] = '\0';
}

/* Loads config, connects, builds the token. Under g_lock. */
static CK_RV
state_load(int no_threads)
{
	struct sn_client_config cfg;
	json_t *resp = NULL;
	uint8_t sha[SHA256_DIGEST_LENGTH];
	char why[256] = "";
	long status = 0;
	CK_RV rv = CKR_FUNCTION_FAILED;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = sn_config_load_why(&cfg, why, sizeof(why))) != 0) {
		p11_log("cannot read the signet configuration: %s",
		    why[0] != '\0' ? why : sn_strerror(r));
		goto out;
	}
	if (cfg.log_file != NULL && strlen(cfg.log_file) < sizeof(g_log_path))
		snprintf(g_log_path, sizeof(g_log_path), "%s", cfg.log_file);
	g_approval_wait = 0;	/* checked by the config parser */
	if (cfg.approval_wait != NULL && strcmp(cfg.approval_wait, "0") != 0 &&
	    sn_parse_duration(cfg.approval_wait, &g_approval_wait) != 0)
		g_approval_wait = 0;
	/* both checked by the config parser too */
	g_cache_on = cfg.listing_cache == NULL ||
	    strcmp(cfg.listing_cache, "off") != 0;
	g_cache_ttl = P11_CACHE_TTL_DEFAULT;
	if (cfg.listing_cache_ttl != NULL && (strcmp(cfg.listing_cache_ttl,
	    "0") == 0 || sn_parse_duration(cfg.listing_cache_ttl,
	    &g_cache_ttl) != 0))
		g_cache_ttl = 0;
	g_cache_name[0] = '\0';
	if (cfg.url == NULL) {
		p11_log("no service URL configured: run `signet login` or "
		    "set SIGNET_URL");
		goto out;
	}
	if (cfg.api_key == NULL && cfg.sa_name == NULL && cfg.sa_id == NULL) {
		p11_log("no credentials configured: run `signet login` or "
		    "set SIGNET_API_KEY");
		goto out;
	}
	if ((r = sn_client_new(&cfg, &g.client)) != 0) {
		p11_log("cannot set up the client for %s: %s", cfg.url,
		    sn_strerror(r));
		rv = p11_init_rv(r);
		goto out;
	}
	if (no_threads)
		sn_client_set_no_threads(g.client);
	/*
	 * One request says the service answers and takes the credentials,
	 * so C_Initialize fails as it always did; the keys come later, the
	 * one a search names or all of them (C_FindObjectsInit), so a
	 * process that signs with one key does not pay for the others.
	 */
	if ((r = sn_client_json(g.client, "GET", "/v1/me", NULL, &status,
	    &resp)) != 0) {
		p11_log("cannot reach the signing service at %s: %s", cfg.url,
		    sn_client_errmsg(g.client));
		rv = p11_init_rv(r);
		goto out;
	}
	/* who the service says we are names the shared listing (no cache
	 * when the answer does not say) */
	if (g_cache_on &&
	    p11_cache_name(cfg.url, resp, g_cache_name) != 0)
		g_cache_name[0] = '\0';
	if ((g.token = p11_token_new()) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	/* The token serial names the service, so two services differ. */
	SHA256((const unsigned char *)cfg.url, strlen(cfg.url), sha);
	for (size_t i = 0; i < 8; i++)
		snprintf(g.serial + 2 * i, 3, "%02x", sha[i]);
	rv = CKR_OK;
 out:
	json_decref(resp);
	sn_config_clear(&cfg);
	return rv;
}

/* ---- general purpose ---- */

P11_EXPORT CK_RV
C_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_C_INITIALIZE_ARGS *a = pInitArgs;
	CK_RV rv;
	int n;

	if (a != NULL) {
		if (a->pReserved != NULL)
			return CKR_ARGUMENTS_BAD;
		n = (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) +
		    (a->LockMutex != NULL) + (a->UnlockMutex != NULL);
		if (n != 0 && n != 4)
			return CKR_ARGUMENTS_BAD;
		/* We lock with pthreads only; the caller's mutexes are not
		 * something we can use in their place. */
		if (n == 4 && !(a->flags & CKF_OS_LOCKING_OK))
			return CKR_CANT_LOCK;
	}
	pthread_once(&g_atfork_once, register_atfork);
	pthread_mutex_lock(&g_lock);
	/* A C_Finalize in another thread is still draining: let it finish. */
	while (g.finalizing)
		pthread_cond_wait(&g_idle, &g_lock);
	if (g.initialized) {
		/* A forked child re-initialising keeps the inherited state. */
		if (g.pid != getpid()) {
			g.pid = getpid();
			rv = CKR_OK;
		} else
			rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	/*
	 * GnuTLS (p11tool, certtool) and p11-kit's proxy say the library may
	 * not create threads: the client then looks the service up itself
	 * instead of through libcurl's threaded resolver, and nothing else in
	 * the module starts one.
	 */
	if ((rv = state_load(a != NULL &&
	    (a->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS))) != CKR_OK) {
		state_free();
		goto out;
	}
	g.pid = getpid();
	/*
	 * Session handles keep counting across C_Finalize/C_Initialize: a
	 * handle from before C_Finalize must stay invalid, not name a session
	 * opened after it.
	 */
	if (g.next_handle == 0)
		g.next_handle = 1;
	g.initialized = 1;
 out:
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_Finalize(CK_VOID_PTR pReserved)
{
	if (pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&g_lock);
	if (!g.initialized) {
		pthread_mutex_unlock(&g_lock);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	/*
	 * From here on every new call sees an uninitialised module, so the
	 * requests in flight drain even while other threads keep calling
	 * (waiting with the module still open could wait forever). The state
	 * itself stays until they have: they use the token and the client.
	 */
	g.initialized = 0;
	g.finalizing = 1;
	while (g.inflight > 0)
		pthread_cond_wait(&g_idle, &g_lock);
	state_free();
	g.finalizing = 0;
	pthread_cond_broadcast(&g_idle);
	pthread_mutex_unlock(&g_lock);
	return CKR_OK;
}

P11_EXPORT CK_RV
C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&g_lock);
	if (!g.initialized)
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	else if (pInfo == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else {
		memset(pInfo, 0, sizeof(*pInfo));
		pInfo->cryptokiVersion.major = 2;
		pInfo->cryptokiVersion.minor = 40;
		p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
		    "Signet");
		p11_pad(pInfo->libraryDescription,
		    sizeof(pInfo->libraryDescription), "Signet remote signing");
		pInfo->libraryVersion.major = 0;
		pInfo->libraryVersion.minor = 1;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (ppFunctionList == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &function_list;
	return CKR_OK;
}

/* ---- slots and tokens ---- */

P11_EXPORT CK_RV
C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
    CK_ULONG_PTR pulCount)
{
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&g_lock);
	if (!g.initialized)
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	else if (pulCount == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (pSlotList == NULL)
		*pulCount = 1;
	else if (*pulCount < 1) {
		*pulCount = 1;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		pSlotList[0] = P11_SLOT_ID;
		*pulCount = 1;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	CK_RV rv;

	if ((rv = slot_lock(slotID, pInfo)) == CKR_OK) {
		memset(pInfo, 0, sizeof(*pInfo));
		p11_pad(pInfo->slotDescription, sizeof(pInfo->slotDescription),
		    "Signet remote signing service");
		p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
		    "Signet");
		pInfo->flags = CKF_TOKEN_PRESENT;
		pInfo->hardwareVersion.major = 0;
		pInfo->hardwareVersion.minor = 1;
		pInfo->firmwareVersion.major = 0;
		pInfo->firmwareVersion.minor = 1;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	CK_RV rv;

	if ((rv = slot_lock(slotID, pInfo)) == CKR_OK) {
		memset(pInfo, 0, sizeof(*pInfo));
		p11_pad(pInfo->label, sizeof(pInfo->label), P11_TOKEN_LABEL);
		p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
		    "Signet");
		p11_pad(pInfo->model, sizeof(pInfo->model), "signet-pkcs11");
		p11_pad(pInfo->serialNumber, sizeof(pInfo->serialNumber),
		    g.serial);
		/* No login required: credentials come from the config. */
		pInfo->flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED |
		    CKF_WRITE_PROTECTED;
		pInfo->ulMaxSessionCount = P11_MAX_SESSIONS;
		pInfo->ulSessionCount = g.nsessions;
		pInfo->ulMaxRwSessionCount = P11_MAX_SESSIONS;
		pInfo->ulRwSessionCount = rw_sessions();
		pInfo->ulMaxPinLen = 255;
		pInfo->ulMinPinLen = 0;
		pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
		pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
		pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
		pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
		pInfo->hardwareVersion.minor = 1;
		pInfo->firmwareVersion.minor = 1;
		p11_pad(pInfo->utcTime, sizeof(pInfo->utcTime), "");
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_UNSUPPORTED(C_WaitForSlotEvent, (CK_FLAGS flags, CK_SLOT_ID_PTR pSlot,
    CK_VOID_PTR pRserved))

P11_EXPORT CK_RV
C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
    CK_ULONG_PTR pulCount)
{
	const struct p11_mech_info *t;
	size_t n;
	CK_RV rv;

	t = p11_mech_table(&n);
	if ((rv = slot_lock(slotID, pulCount)) != CKR_OK)
		;
	else if (pMechanismList == NULL)
		*pulCount = n;
	else if (*pulCount < n) {
		*pulCount = n;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		for (size_t i = 0; i < n; i++)
			pMechanismList[i] = t[i].type;
		*pulCount = n;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR pInfo)
{
	CK_RV rv;

	if ((rv = slot_lock(slotID, pInfo)) == CKR_OK)
		rv = p11_mech_get_info(type, pInfo);
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_UNSUPPORTED(C_InitToken, (CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG
    ulPinLen, CK_UTF8CHAR_PTR pLabel))

P11_WRITE_REFUSED(C_InitPIN, (CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin,
    CK_ULONG ulPinLen))

P11_WRITE_REFUSED(C_SetPIN, (CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin,
    CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen))

/* ---- sessions ---- */

P11_EXPORT CK_RV
C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
    CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	struct p11_session *s;
	size_t i;
	CK_RV rv;

	if ((rv = slot_lock(slotID, phSession)) != CKR_OK)
		goto out;
	if (!(flags & CKF_SERIAL_SESSION)) {
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
		goto out;
	}
	/*
	 * Read-write sessions are accepted (pkcs11-tool --test, NSS and
	 * others ask for one just to sign); the token stays write
	 * protected, so every write in them is CKR_TOKEN_WRITE_PROTECTED.
	 */
	for (i = 0; i < P11_MAX_SESSIONS && g.sessions[i] != NULL; i++)
		;
	if (i == P11_MAX_SESSIONS) {
		rv = CKR_SESSION_COUNT;
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	/* Handles are never reused, so a stale handle never hits a new one. */
	s->h = g.next_handle++;
	s->flags = flags;
	g.sessions[i] = s;
	g.nsessions++;
	*phSession = s->h;
 out:
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = CKR_SESSION_HANDLE_INVALID;

	pthread_mutex_lock(&g_lock);
	if (!g.initialized)
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	else {
		for (size_t i = 0; i < P11_MAX_SESSIONS; i++) {
			if (g.sessions[i] != NULL && g.sessions[i]->h == hSession) {
				session_free(g.sessions[i]);
				g.sessions[i] = NULL;
				g.nsessions--;
				rv = CKR_OK;
				break;
			}
		}
		if (g.nsessions == 0)
			g.logged_in = 0;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_RV rv;

	if ((rv = slot_lock(slotID, &slotID)) == CKR_OK) {
		for (size_t i = 0; i < P11_MAX_SESSIONS; i++) {
			session_free(g.sessions[i]);
			g.sessions[i] = NULL;
		}
		g.nsessions = 0;
		g.logged_in = 0;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		;
	else if (pInfo == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else {
		memset(pInfo, 0, sizeof(*pInfo));
		pInfo->slotID = P11_SLOT_ID;
		if (s->flags & CKF_RW_SESSION)
			pInfo->state = g.logged_in ? CKS_RW_USER_FUNCTIONS :
			    CKS_RW_PUBLIC_SESSION;
		else
			pInfo->state = g.logged_in ? CKS_RO_USER_FUNCTIONS :
			    CKS_RO_PUBLIC_SESSION;
		pInfo->flags = s->flags;
		pInfo->ulDeviceError = 0;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_UNSUPPORTED(C_GetOperationState, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pOperationState, CK_ULONG_PTR pulOperationStateLen))

P11_UNSUPPORTED(C_SetOperationState, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pOperationState, CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE
    hEncryptionKey, CK_OBJECT_HANDLE hAuthenticationKey))

/*
 * Credentials come from the client configuration. C_Login is accepted so
 * that consumers which always log in (jarsigner with -storepass, libp11
 * with a PIN) work; the PIN is not looked at.
 */
P11_EXPORT CK_RV
C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
    CK_ULONG ulPinLen)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		;
	else if (userType == CKU_SO)
		/* There is no security officer: no SO PIN is ever right. */
		rv = rw_sessions() < g.nsessions ?
		    CKR_SESSION_READ_ONLY_EXISTS : CKR_PIN_INCORRECT;
	else if (userType != CKU_USER && userType != CKU_CONTEXT_SPECIFIC)
		rv = CKR_USER_TYPE_INVALID;
	else
		g.logged_in = 1;
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_Logout(CK_SESSION_HANDLE hSession)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) == CKR_OK)
		g.logged_in = 0;
	pthread_mutex_unlock(&g_lock);
	return rv;
}

/* ---- objects ---- */

P11_WRITE_REFUSED(C_CreateObject, (CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR
    pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject))

P11_WRITE_REFUSED(C_CopyObject, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE
    hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR
    phNewObject))

P11_WRITE_REFUSED(C_DestroyObject, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE
    hObject))

P11_EXPORT CK_RV
C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ULONG_PTR pulSize)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		;
	else if (p11_token_find(g.token, hObject) == NULL)
		rv = CKR_OBJECT_HANDLE_INVALID;
	else if (pulSize == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else
		*pulSize = CK_UNAVAILABLE_INFORMATION;
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	const struct p11_object *o;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		;
	else if ((o = p11_token_find(g.token, hObject)) == NULL)
		rv = CKR_OBJECT_HANDLE_INVALID;
	else if (pTemplate == NULL && ulCount > 0)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = p11_obj_get_attributes(o, pTemplate, ulCount);
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_WRITE_REFUSED(C_SetAttributeValue, (CK_SESSION_HANDLE hSession,
    CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount))

/* Shares what the service sent; a cache that cannot be written is only
 * a request not saved. */
static void
cache_save(json_t *keys, const char *etag)
{
	if (g_cache_name[0] != '\0' &&
	    p11_cache_store(g_cache_name, keys, etag) != 0)
		p11_log("cannot save the key listing in the cache directory "
		    "(ignored)");
}

/*
 * Every key, outside g_lock: through the listing cache (p11_cache.c) when
 * it is on. An entry younger than listing_cache_ttl is used without
 * asking; an older one is revalidated with one conditional request for
 * the first page (If-None-Match: its ETag). A 304 uses the entry, and with
 * a TTL rewrites it as fetched now, so the next processes trust it for
 * another TTL (with none, its fetch time is never read: no write); a 200
 * is the first page of a fresh listing, fetched to the end and saved with
 * its ETag. No usable entry, or any error revalidating: the whole listing,
 * as without a cache, then saved. An entry used comes with the token its
 * check made of it (*built, else NULL), so the keys are not parsed twice.
 */
static int
fetch_listing(json_t **out, struct p11_token **built)
{
	struct p11_cache_entry e;
	char etag[P11_ETAG_MAX + 1];
	int64_t now = (int64_t)time(NULL);
	int r;

	*out = NULL;
	*built = NULL;
	if (g_cache_name[0] == '\0')
		return p11_fetch_keys(g.client, NULL, etag, out);
	if (p11_cache_load(g_cache_name, &e) == 0) {
		if (now - e.fetched < g_cache_ttl) {
			*out = e.keys;
			e.keys = NULL;
			*built = e.token;
			e.token = NULL;
			r = 0;
			goto out;
		}
		if (e.etag[0] != '\0' && p11_fetch_keys(g.client, e.etag, etag,
		    out) == 0) {
			if (*out != NULL)
				cache_save(*out, etag);
			else {
				*out = e.keys;
				e.keys = NULL;
				*built = e.token;
				e.token = NULL;
				if (g_cache_ttl > 0 &&
				    p11_cache_touch(g_cache_name, &e) != 0)
					p11_log("cannot refresh the key listing "
					    "in the cache directory (ignored)");
			}
			r = 0;
			goto out;
		}
	}
	if ((r = p11_fetch_keys(g.client, NULL, etag, out)) == 0)
		cache_save(*out, etag);
 out:
	p11_cache_entry_clear(&e);
	return r;
}

/*
 * Under g_lock, which it drops around the request: brings the key `hint`
 * names (a key id or PROJECT/KEY) onto the token, or every key (hint NULL,
 * or a hint the service knows no signable key for: it may name a CA
 * certificate, which only the full listing has). Counted in flight so
 * that C_Finalize waits and g.token stays. *s is looked up again: the
 * session may have been closed meanwhile. Concurrent lookups of the same
 * key are harmless: p11_token_add_keys adds a key once.
 */
static CK_RV
token_fetch(CK_SESSION_HANDLE hSession, const char *hint,
    struct p11_session **s)
{
	json_t *resp = NULL;
	struct p11_token *built = NULL;
	size_t skipped = 0;
	int r = 0, all = hint == NULL;
	CK_RV rv = CKR_OK;

	g.inflight++;
	pthread_mutex_unlock(&g_lock);
	if (hint != NULL && (r = p11_fetch_key(g.client, hint, &resp)) == 0 &&
	    json_array_size(json_object_get(resp, "keys")) == 0) {
		json_decref(resp);
		resp = NULL;
		all = 1;
	}
	if (r == 0 && all)
		r = fetch_listing(&resp, &built);
	if (r != 0) {
		p11_log("cannot list signing keys: %s",
		    sn_client_errmsg(g.client));
		/* A credential refused now was taken at C_Initialize. */
		if ((rv = p11_init_rv(r)) == CKR_PIN_INCORRECT)
			rv = CKR_PIN_EXPIRED;
	}
	pthread_mutex_lock(&g_lock);
	/* a cached listing's token, if nothing is on ours yet; else (keys
	 * another lookup added meanwhile) added key by key */
	if (rv == CKR_OK && built != NULL && p11_token_take(g.token, built))
		built = NULL;
	else if (rv == CKR_OK && (r = p11_token_add_keys(g.token, resp,
	    &skipped)) != 0) {
		p11_log("unexpected key list: %s", sn_strerror(r));
		rv = r == SN_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_FUNCTION_FAILED;
	}
	if (rv == CKR_OK && all)
		g.token->complete = 1;
	if (--g.inflight == 0)
		pthread_cond_broadcast(&g_idle);
	p11_token_free(built);
	json_decref(resp);
	if (rv == CKR_OK && !g.initialized)
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	if (rv == CKR_OK && (*s = session_get(hSession)) == NULL)
		rv = CKR_SESSION_HANDLE_INVALID;
	if (rv == CKR_OK && (*s)->finding)
		rv = CKR_OPERATION_ACTIVE;
	return rv;
}

P11_EXPORT CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
    CK_ULONG ulCount)
{
	struct p11_session *s;
	char hint[160];
	int named;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		goto out;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->finding) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	/*
	 * A signing process pays for the key it uses: a template that names
	 * a key fetches that key only (once: it stays on the token); one
	 * that names none lists every key, once.
	 */
	if (!g.token->complete) {
		named = p11_tmpl_key_hint(pTemplate, ulCount, hint,
		    sizeof(hint));
		if ((!named || !p11_token_has_key(g.token, hint)) &&
		    (rv = token_fetch(hSession, named ? hint : NULL, &s)) !=
		    CKR_OK)
			goto out;
	}
	s->nfound = s->fpos = 0;
	if (g.token->nobjs > 0 &&
	    (s->found = calloc(g.token->nobjs, sizeof(*s->found))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (size_t i = 0; i < g.token->nobjs; i++) {
		if (p11_obj_match(g.token->objs[i], pTemplate, ulCount))
			s->found[s->nfound++] = g.token->objs[i]->handle;
	}
	s->finding = 1;
 out:
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct p11_session *s;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		;
	else if (!s->finding)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (pulObjectCount == NULL ||
	    (phObject == NULL && ulMaxObjectCount > 0))
		rv = CKR_ARGUMENTS_BAD;
	else {
		while (n < ulMaxObjectCount && s->fpos < s->nfound)
			phObject[n++] = s->found[s->fpos++];
		*pulObjectCount = n;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		;
	else if (!s->finding)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else {
		free(s->found);
		s->found = NULL;
		s->nfound = s->fpos = 0;
		s->finding = 0;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

/* ---- encryption, decryption, digests: not offered ---- */

P11_UNSUPPORTED(C_EncryptInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_OBJECT_HANDLE hKey))

P11_UNSUPPORTED(C_Encrypt, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
    CK_ULONG ulDataLen, CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR
    pulEncryptedDataLen))

P11_UNSUPPORTED(C_EncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR
    pulEncryptedPartLen))

P11_UNSUPPORTED(C_EncryptFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pLastEncryptedPart, CK_ULONG_PTR pulLastEncryptedPartLen))

P11_UNSUPPORTED(C_DecryptInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_OBJECT_HANDLE hKey))

P11_UNSUPPORTED(C_Decrypt, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pEncryptedData, CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR
    pulDataLen))

P11_UNSUPPORTED(C_DecryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR
    pulPartLen))

P11_UNSUPPORTED(C_DecryptFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pLastPart, CK_ULONG_PTR pulLastPartLen))

P11_UNSUPPORTED(C_DigestInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism))

P11_UNSUPPORTED(C_Digest, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
    CK_ULONG ulDataLen, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen))

P11_UNSUPPORTED(C_DigestUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen))

P11_UNSUPPORTED(C_DigestKey, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE
    hKey))

P11_UNSUPPORTED(C_DigestFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
    CK_ULONG_PTR pulDigestLen))

/* ---- signing ---- */

/* C_SignInit and C_VerifyInit: the mechanism checked, the hash started. */
static CK_RV
op_init(CK_SESSION_HANDLE hSession, int verify, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	struct p11_session *s;
	struct p11_signop *op;
	const struct p11_object *key;
	const struct p11_mech_info *mi;
	enum sn_hash pss_hash;
	EVP_MD_CTX *md = NULL;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		goto out;
	op = verify ? &s->vop : &s->op;
	if (pMechanism == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (op->active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((key = p11_token_find(g.token, hKey)) == NULL ||
	    key->cls == CKO_CERTIFICATE) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	if ((rv = verify ? p11_mech_check_verify(pMechanism, key, &mi,
	    &pss_hash) : p11_mech_check(pMechanism, key, &mi, &pss_hash)) !=
	    CKR_OK)
		goto out;
	if (mi->hash != SN_HASH_NONE) {
		if ((md = EVP_MD_CTX_new()) == NULL) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		if (!EVP_DigestInit_ex(md, sn_hash_md(mi->hash), NULL)) {
			EVP_MD_CTX_free(md);
			rv = CKR_FUNCTION_FAILED;
			goto out;
		}
	}
	op_clear(op);
	op->active = 1;
	op->mi = mi;
	op->pss_hash = pss_hash;
	op->key = key;
	op->md = md;
	rv = CKR_OK;
 out:
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, 0, pMechanism, hKey);
}

/* C_SignUpdate and C_VerifyUpdate. */
static CK_RV
op_update(CK_SESSION_HANDLE hSession, int verify, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen)
{
	struct p11_session *s;
	struct p11_signop *op;
	EVP_MD_CTX *md;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		goto out;
	op = verify ? &s->vop : &s->op;
	if (!op->active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (op->busy) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (pPart == NULL && ulPartLen > 0) {
		op_clear(op);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	op->updated = 1;
	if (op->md == NULL) {
		/* Raw mechanisms: the input is a digest, so it is small. */
		if (ulPartLen > sizeof(op->buf) - op->buflen) {
			op_clear(op);
			rv = CKR_DATA_LEN_RANGE;
			goto out;
		}
		if (ulPartLen > 0)
			memcpy(op->buf + op->buflen, pPart, ulPartLen);
		op->buflen += ulPartLen;
		goto out;
	}
	/*
	 * Hash outside the lock: the data may be large. Counted in flight so
	 * that C_Finalize waits for it (a session handle of this module
	 * instance must not be looked up in the next one's table).
	 */
	md = op->md;
	op->md = NULL;
	op->busy = 1;
	g.inflight++;
	pthread_mutex_unlock(&g_lock);
	if (!EVP_DigestUpdate(md, pPart, ulPartLen))
		rv = CKR_FUNCTION_FAILED;
	pthread_mutex_lock(&g_lock);
	if (--g.inflight == 0)
		pthread_cond_broadcast(&g_idle);
	/* The session may have been closed meanwhile: look it up again. */
	if ((s = session_get(hSession)) != NULL &&
	    (op = verify ? &s->vop : &s->op)->busy) {
		op->busy = 0;
		op->md = md;
		md = NULL;
		if (rv != CKR_OK)
			op_clear(op);
	}
	EVP_MD_CTX_free(md);
 out:
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return op_update(hSession, 0, pPart, ulPartLen);
}

/*
 * The end of C_Sign (single = 1, data given) and C_SignFinal. Length rules
 * (PKCS#11 v2.40 section 5.2): a NULL signature buffer asks for the length
 * and keeps the operation; a short buffer gives CKR_BUFFER_TOO_SMALL and
 * keeps it; anything else ends it.
 */
/*
 * The key's policy wants approvals and the service recorded a pending
 * one: with approval_wait set, wait that long for the decision (the
 * client's long-polls) and return 0 to sign again; else r, with why set
 * when the wait ended without approval. Called outside the module lock.
 */
static int
p11_await_approval(int r, char *why, size_t whylen)
{
	const char *aid = sn_client_last_approval();
	char id[80];

	why[0] = '\0';
	if (r != SN_ERR_FORBIDDEN || g_approval_wait <= 0 || aid == NULL ||
	    strlen(aid) >= sizeof(id))
		return r;
	memcpy(id, aid, strlen(aid) + 1);
	return sn_client_await_approval(g.client, id, sn_now() +
	    g_approval_wait, why, whylen);
}

static CK_RV
sign_finish(CK_SESSION_HANDLE hSession, int single, const uint8_t *data,
    CK_ULONG dlen_in, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	struct p11_session *s;
	struct p11_signop op;
	uint8_t dg[EVP_MAX_MD_SIZE], *sig = NULL;
	const uint8_t *digest = NULL, *in;
	unsigned int mdlen = 0;
	size_t dlen = 0, siglen = 0, inlen;
	enum sn_hash hash = SN_HASH_NONE;
	CK_ULONG need;
	CK_RV rv;
	char why[400] = "";
	int r;

	memset(&op, 0, sizeof(op));
	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		goto unlock;
	if (!s->op.active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto unlock;
	}
	if (s->op.busy) {
		rv = CKR_OPERATION_ACTIVE;
		goto unlock;
	}
	if (pulSignatureLen == NULL || (single && data == NULL && dlen_in > 0)) {
		op_clear(&s->op);
		rv = CKR_ARGUMENTS_BAD;
		goto unlock;
	}
	if (single && s->op.updated) {
		/* C_Sign after C_SignUpdate: the operation is multi-part. */
		rv = CKR_OPERATION_ACTIVE;
		goto unlock;
	}
	need = p11_sig_len(s->op.key);
	if (pSignature == NULL) {
		*pulSignatureLen = need;
		rv = CKR_OK;
		goto unlock;
	}
	if (*pulSignatureLen < need) {
		*pulSignatureLen = need;
		rv = CKR_BUFFER_TOO_SMALL;
		goto unlock;
	}
	/* Take the operation out; the session keeps it marked busy. */
	op = s->op;
	s->op.md = NULL;
	s->op.busy = 1;
	g.inflight++;
	pthread_mutex_unlock(&g_lock);

	if (op.mi->hash != SN_HASH_NONE) {
		hash = op.mi->hash;
		if ((single && !EVP_DigestUpdate(op.md, data, dlen_in)) ||
		    !EVP_DigestFinal_ex(op.md, dg, &mdlen)) {
			rv = CKR_FUNCTION_FAILED;
			goto done;
		}
		digest = dg;
		dlen = mdlen;
	} else {
		in = single ? data : op.buf;
		inlen = single ? dlen_in : op.buflen;
		if ((rv = p11_raw_input(op.mi->type, op.pss_hash, in, inlen,
		    &hash, &digest, &dlen)) != CKR_OK)
			goto done;
	}
	r = sn_client_sign(g.client, op.key->key_id, op.mi->mech, hash,
	    digest, dlen, &sig, &siglen);
	if (r != 0 && (r = p11_await_approval(r, why, sizeof(why))) == 0)
		r = sn_client_sign(g.client, op.key->key_id, op.mi->mech, hash,
		    digest, dlen, &sig, &siglen);
	if (r != 0) {
		rv = p11_sign_rv(r);
		/* the listing showed a key the service no longer signs with:
		 * the next process asks again */
		if (rv == CKR_FUNCTION_REJECTED)
			p11_cache_drop(g_cache_name);
		p11_log("signing with key %s failed: %s", op.key->key_id,
		    why[0] != '\0' ? why : sn_client_errmsg(g.client));
		goto done;
	}
	if (op.key->key_type == CKK_EC) {
		if (p11_ecdsa_der_to_raw(sig, siglen, need / 2,
		    pSignature) != 0) {
			p11_log("signing with key %s: malformed ECDSA "
			    "signature from the service", op.key->key_id);
			rv = CKR_DEVICE_ERROR;
			goto done;
		}
	} else {
		if (siglen == 0 || siglen > need) {
			p11_log("signing with key %s: signature of %zu bytes "
			    "from the service, expected %lu", op.key->key_id,
			    siglen, (unsigned long)need);
			rv = CKR_DEVICE_ERROR;
			goto done;
		}
		/* An RSA signature is always modulus-sized. */
		memset(pSignature, 0, need - siglen);
		memcpy(pSignature + (need - siglen), sig, siglen);
	}
	*pulSignatureLen = need;
	rv = CKR_OK;
 done:
	free(sig);
	explicit_bzero(dg, sizeof(dg));
	EVP_MD_CTX_free(op.md);
	op.md = NULL;
	pthread_mutex_lock(&g_lock);
	if (--g.inflight == 0)
		pthread_cond_broadcast(&g_idle);
	if ((s = session_get(hSession)) != NULL && s->op.busy)
		op_clear(&s->op);
 unlock:
	pthread_mutex_unlock(&g_lock);
	explicit_bzero(&op, sizeof(op));
	return rv;
}

P11_EXPORT CK_RV
C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return sign_finish(hSession, 1, pData, ulDataLen, pSignature,
	    pulSignatureLen);
}

P11_EXPORT CK_RV
C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
    CK_ULONG_PTR pulSignatureLen)
{
	return sign_finish(hSession, 0, NULL, 0, pSignature, pulSignatureLen);
}

P11_UNSUPPORTED(C_SignRecoverInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_OBJECT_HANDLE hKey))

P11_UNSUPPORTED(C_SignRecover, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
    CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen))

/* ---- verification (local) ---- */

/*
 * The end of C_Verify (single = 1) and C_VerifyFinal: hashing and the
 * check happen outside the lock (counted in flight, like signing), and the
 * operation ends whatever the outcome (PKCS#11 v2.40 section 5.13).
 */
static CK_RV
verify_finish(CK_SESSION_HANDLE hSession, int single, const uint8_t *data,
    CK_ULONG dlen_in, const uint8_t *sig, CK_ULONG siglen)
{
	struct p11_session *s;
	struct p11_signop op;
	uint8_t dg[EVP_MAX_MD_SIZE];
	const uint8_t *digest = NULL, *in;
	unsigned int mdlen = 0;
	size_t dlen = 0, inlen;
	enum sn_hash hash = SN_HASH_NONE;
	CK_RV rv;

	memset(&op, 0, sizeof(op));
	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		goto unlock;
	if (!s->vop.active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto unlock;
	}
	if (s->vop.busy) {
		rv = CKR_OPERATION_ACTIVE;
		goto unlock;
	}
	if (sig == NULL || (single && data == NULL && dlen_in > 0)) {
		op_clear(&s->vop);
		rv = CKR_ARGUMENTS_BAD;
		goto unlock;
	}
	if (single && s->vop.updated) {
		rv = CKR_OPERATION_ACTIVE;
		goto unlock;
	}
	op = s->vop;
	s->vop.md = NULL;
	s->vop.busy = 1;
	g.inflight++;
	pthread_mutex_unlock(&g_lock);

	if (op.mi->hash != SN_HASH_NONE) {
		hash = op.mi->hash;
		if ((single && !EVP_DigestUpdate(op.md, data, dlen_in)) ||
		    !EVP_DigestFinal_ex(op.md, dg, &mdlen)) {
			rv = CKR_FUNCTION_FAILED;
			goto done;
		}
		digest = dg;
		dlen = mdlen;
	} else {
		in = single ? data : op.buf;
		inlen = single ? dlen_in : op.buflen;
		if ((rv = p11_raw_input(op.mi->type, op.pss_hash, in, inlen,
		    &hash, &digest, &dlen)) != CKR_OK)
			goto done;
	}
	rv = p11_verify_digest(op.key, op.mi->mech, hash, digest, dlen, sig,
	    siglen);
 done:
	EVP_MD_CTX_free(op.md);
	op.md = NULL;
	pthread_mutex_lock(&g_lock);
	if (--g.inflight == 0)
		pthread_cond_broadcast(&g_idle);
	if ((s = session_get(hSession)) != NULL && s->vop.busy)
		op_clear(&s->vop);
 unlock:
	pthread_mutex_unlock(&g_lock);
	explicit_bzero(&op, sizeof(op));
	return rv;
}

P11_EXPORT CK_RV
C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, 1, pMechanism, hKey);
}

P11_EXPORT CK_RV
C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
    CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return verify_finish(hSession, 1, pData, ulDataLen, pSignature,
	    ulSignatureLen);
}

P11_EXPORT CK_RV
C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen)
{
	return op_update(hSession, 1, pPart, ulPartLen);
}

P11_EXPORT CK_RV
C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
    CK_ULONG ulSignatureLen)
{
	return verify_finish(hSession, 0, NULL, 0, pSignature, ulSignatureLen);
}

P11_UNSUPPORTED(C_VerifyRecoverInit, (CK_SESSION_HANDLE hSession,
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey))

P11_UNSUPPORTED(C_VerifyRecover, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pSignature, CK_ULONG ulSignatureLen, CK_BYTE_PTR pData, CK_ULONG_PTR
    pulDataLen))

P11_UNSUPPORTED(C_DigestEncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR
    pulEncryptedPartLen))

P11_UNSUPPORTED(C_DecryptDigestUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR
    pulPartLen))

P11_UNSUPPORTED(C_SignEncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR
    pulEncryptedPartLen))

P11_UNSUPPORTED(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR
    pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR
    pulPartLen))

P11_WRITE_REFUSED(C_GenerateKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
    CK_OBJECT_HANDLE_PTR phKey))

P11_WRITE_REFUSED(C_GenerateKeyPair, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG
    ulPublicKeyAttributeCount, CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG
    ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
    CK_OBJECT_HANDLE_PTR phPrivateKey))

P11_UNSUPPORTED(C_WrapKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
    CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen))

P11_WRITE_REFUSED(C_UnwrapKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
    CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG
    ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey))

P11_WRITE_REFUSED(C_DeriveKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR
    pMechanism, CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG
    ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey))

/* ---- random numbers: OpenSSL's, so consumers that test for them work ---- */

P11_EXPORT CK_RV
C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	struct p11_session *s;
	CK_RV rv;

	(void)pSeed;
	(void)ulSeedLen;
	/* OpenSSL seeds itself from the operating system. */
	if ((rv = session_lock(hSession, &s)) == CKR_OK)
		rv = CKR_RANDOM_SEED_NOT_SUPPORTED;
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_EXPORT CK_RV
C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
    CK_ULONG ulRandomLen)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = session_lock(hSession, &s)) != CKR_OK)
		;
	else if (RandomData == NULL && ulRandomLen > 0)
		rv = CKR_ARGUMENTS_BAD;
	else if (ulRandomLen > INT_MAX ||
	    (ulRandomLen > 0 && RAND_bytes(RandomData, (int)ulRandomLen) != 1))
		rv = CKR_FUNCTION_FAILED;
	pthread_mutex_unlock(&g_lock);
	return rv;
}

P11_NOT_PARALLEL(C_GetFunctionStatus, (CK_SESSION_HANDLE hSession))

P11_NOT_PARALLEL(C_CancelFunction, (CK_SESSION_HANDLE hSession))

static CK_FUNCTION_LIST function_list = {
	{ CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR },
	C_Initialize,
	C_Finalize,
	C_GetInfo,
	C_GetFunctionList,
	C_GetSlotList,
	C_GetSlotInfo,
	C_GetTokenInfo,
	C_GetMechanismList,
	C_GetMechanismInfo,
	C_InitToken,
	C_InitPIN,
	C_SetPIN,
	C_OpenSession,
	C_CloseSession,
	C_CloseAllSessions,
	C_GetSessionInfo,
	C_GetOperationState,
	C_SetOperationState,
	C_Login,
	C_Logout,
	C_CreateObject,
	C_CopyObject,
	C_DestroyObject,
	C_GetObjectSize,
	C_GetAttributeValue,
	C_SetAttributeValue,
	C_FindObjectsInit,
	C_FindObjects,
	C_FindObjectsFinal,
	C_EncryptInit,
	C_Encrypt,
	C_EncryptUpdate,
	C_EncryptFinal,
	C_DecryptInit,
	C_Decrypt,
	C_DecryptUpdate,
	C_DecryptFinal,
	C_DigestInit,
	C_Digest,
	C_DigestUpdate,
	C_DigestKey,
	C_DigestFinal,
	C_SignInit,
	C_Sign,
	C_SignUpdate,
	C_SignFinal,
	C_SignRecoverInit,
	C_SignRecover,
	C_VerifyInit,
	C_Verify,
	C_VerifyUpdate,
	C_VerifyFinal,
	C_VerifyRecoverInit,
	C_VerifyRecover,
	C_DigestEncryptUpdate,
	C_DecryptDigestUpdate,
	C_SignEncryptUpdate,
	C_DecryptVerifyUpdate,
	C_GenerateKey,
	C_GenerateKeyPair,
	C_WrapKey,
	C_UnwrapKey,
	C_DeriveKey,
	C_SeedRandom,
	C_GenerateRandom,
	C_GetFunctionStatus,
	C_CancelFunction,
	C_WaitForSlotEvent,
};
