/*
 * init.c - creates the embedded SoftHSM2 token for `signetd init`.
 *
 * The module is loaded only in a forked child that exits right after
 * C_InitToken / C_InitPIN, so the calling process (signetd init) never keeps
 * the module loaded. The PINs live in one buffer that is wiped on every path;
 * the SO PIN is never written anywhere (nobody needs it: re-initialising the
 * token would destroy its keys), the user PIN only to hsm_dir/pin (0600).
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "sn_assert.h"
#include "err.h"
#include "keeper.h"
#include "util.h"

#define PIN_BYTES	16	/* 32 hex characters */

struct pins {
	char so[2 * PIN_BYTES + 1];
	char user[2 * PIN_BYTES + 2];	/* + newline for the file */
};

static int
random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[PIN_BYTES];
	int r;

	if (SN_NEVER(nbytes > sizeof(raw)))
		return SN_ERR_INTERNAL;
	if ((r = sn_random_bytes(raw, nbytes)) != 0)
		return r;
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* In the child: the whole PKCS#11 conversation. Returns an SN_ERR code. */
static int
init_token_child(const char *module_path, const char *label, const struct pins *p)
{
	CK_C_GetFunctionList getfl;
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_C_INITIALIZE_ARGS ia;
	CK_SLOT_ID *slots = NULL, slot = 0;
	CK_ULONG n = 0;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;
	CK_UTF8CHAR lab[32];
	size_t llen = strlen(label);
	void *dl;
	int found = 0, r = SN_ERR_HSM;

	memset(lab, ' ', sizeof(lab));
	memcpy(lab, label, llen);
	if ((dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (getfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
	    getfl(&f) != CKR_OK || f == NULL)
		return SN_ERR_HSM;
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	if (f->C_Initialize(&ia) != CKR_OK)
		return SN_ERR_HSM;
	if (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0 || n > 4096 ||
	    (slots = calloc(n, sizeof(*slots))) == NULL ||
	    f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		goto out;
	for (CK_ULONG i = 0; i < n; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (ti.flags & CKF_TOKEN_INITIALIZED) {
			if (memcmp(ti.label, lab, sizeof(lab)) == 0) {
				r = SN_ERR_CONFLICT;
				goto out;
			}
		} else if (!found) {
			slot = slots[i];
			found = 1;
		}
	}
	if (!found)
		goto out;
	if (f->C_InitToken(slot, (CK_UTF8CHAR_PTR)p->so, strlen(p->so), lab) != CKR_OK)
		goto out;
	/* SoftHSM2 moves the new token to a new slot id: find it by label. */
	free(slots);
	slots = NULL;
	found = 0;
	if (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0 || n > 4096 ||
	    (slots = calloc(n, sizeof(*slots))) == NULL ||
	    f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		goto out;
	for (CK_ULONG i = 0; i < n && !found; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    (ti.flags & CKF_TOKEN_INITIALIZED) &&
		    memcmp(ti.label, lab, sizeof(lab)) == 0) {
			slot = slots[i];
			found = 1;
		}
	}
	if (!found)
		goto out;
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
	    NULL, &s) != CKR_OK)
		goto out;
	if (f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)p->so, strlen(p->so)) == CKR_OK) {
		if (f->C_InitPIN(s, (CK_UTF8CHAR_PTR)p->user,
		    2 * PIN_BYTES) == CKR_OK)
			r = 0;
		f->C_Logout(s);
	}
	f->C_CloseSession(s);
 out:
	free(slots);
	f->C_Finalize(NULL);
	return r;
}

static int
path_join(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= outsz ? SN_ERR_INVALID : 0;
}

static int
make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return SN_ERR_IO;
	return 0;
}

int
keeper_init_softhsm_token(const char *hsm_dir, const char *module_path,
    const char *token_label)
{
	char tokens[PATH_MAX], conf[PATH_MAX], pinpath[PATH_MAX], abs[PATH_MAX];
	char *text = NULL;
	struct pins *p = NULL;
	struct stat st;
	pid_t pid;
	int n, st_code, r = SN_ERR_INVALID;

	if (hsm_dir == NULL || module_path == NULL || token_label == NULL ||
	    strlen(token_label) == 0 || strlen(token_label) > 32)
		return SN_ERR_INVALID;
	if ((r = path_join(tokens, sizeof(tokens), hsm_dir, "tokens")) != 0 ||
	    (r = path_join(conf, sizeof(conf), hsm_dir, "softhsm2.conf")) != 0 ||
	    (r = path_join(pinpath, sizeof(pinpath), hsm_dir, "pin")) != 0)
		return r;
	if (lstat(pinpath, &st) == 0)
		return SN_ERR_CONFLICT;		/* never clobber a live PIN */
	if ((r = make_dir(hsm_dir)) != 0 || (r = make_dir(tokens)) != 0)
		return r;
	/* SoftHSM2 resolves the token directory relative to its cwd: pin it. */
	if (realpath(tokens, abs) == NULL)
		return SN_ERR_IO;
	if ((n = asprintf(&text,
	    "# SoftHSM2 configuration written by signetd init\n"
	    "directories.tokendir = %s\n"
	    "objectstore.backend = file\n"
	    "log.level = ERROR\n"
	    "slots.removable = false\n", abs)) < 0) {
		text = NULL;
		return SN_ERR_NOMEM;
	}
	r = sn_write_file(conf, text, (size_t)n, 0600);
	free(text);
	if (r != 0)
		return r;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SN_ERR_NOMEM;
	if ((r = random_hex(p->so, PIN_BYTES)) != 0 ||
	    (r = random_hex(p->user, PIN_BYTES)) != 0)
		goto out;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		r = SN_ERR_IO;
		goto out;
	}
	if (pid == 0) {
		int cr;

		if (setenv("SOFTHSM2_CONF", conf, 1) != 0)
			_exit(-SN_ERR_NOMEM);
		cr = init_token_child(module_path, token_label, p);
		explicit_bzero(p, sizeof(*p));
		_exit(-cr);
	}
	while (waitpid(pid, &st_code, 0) < 0) {
		if (errno != EINTR) {
			r = SN_ERR_IO;
			goto out;
		}
	}
	if (!WIFEXITED(st_code)) {
		r = SN_ERR_HSM;
		goto out;
	}
	r = -WEXITSTATUS(st_code);
	if (r != 0)
		goto out;
	p->user[2 * PIN_BYTES] = '\n';
	p->user[2 * PIN_BYTES + 1] = '\0';
	if ((r = sn_write_file(pinpath, p->user, 2 * PIN_BYTES + 1, 0600)) != 0)
		goto out;
	r = 0;
 out:
	sn_freezero(p, sizeof(*p));
	return r;
}
