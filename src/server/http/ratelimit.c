/*
 * ratelimit.c - fixed-window failure counters in a bounded, probed table.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ratelimit.h"

#define RL_SLOTS	4096	/* addresses tracked at once */
#define RL_PROBE	16	/* slots looked at per address */
#define RL_ADDR_MAX	64	/* longest IPv6 text form is 45 */

struct rl_slot {
	char addr[RL_ADDR_MAX];
	int64_t window_start;
	int count;
};

struct ratelimit {
	pthread_mutex_t lock;
	int limit;
	int window;
	struct rl_slot slots[RL_SLOTS];
};

int
ratelimit_new(int limit, int window_secs, struct ratelimit **out)
{
	struct ratelimit *rl;

	*out = NULL;
	if (limit < 0 || window_secs < 1)
		return SN_ERR_INVALID;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return SN_ERR_NOMEM;
	pthread_mutex_init(&rl->lock, NULL);
	rl->limit = limit;
	rl->window = window_secs;
	*out = rl;
	return SN_OK;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* FNV-1a: cheap, and an attacker choosing addresses gains nothing but a
 * probe sequence, which is bounded. */
static size_t
rl_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h % RL_SLOTS;
}

/* The slot for addr, or NULL if it has none and create is 0. */
static struct rl_slot *
rl_find(struct ratelimit *rl, const char *addr, int64_t now, int create)
{
	struct rl_slot *s, *victim = NULL;
	size_t h = rl_hash(addr);

	for (size_t i = 0; i < RL_PROBE; i++) {
		s = &rl->slots[(h + i) % RL_SLOTS];
		if (strcmp(s->addr, addr) == 0)
			return s;
		/* prefer an empty or expired slot, else the oldest window */
		if (victim == NULL || s->addr[0] == '\0' ||
		    (victim->addr[0] != '\0' &&
		    s->window_start < victim->window_start))
			victim = s;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, addr, strlen(addr) + 1);
	victim->window_start = now;
	return victim;
}

int
ratelimit_blocked(struct ratelimit *rl, const char *addr, int64_t now)
{
	struct rl_slot *s;
	int wait = 0;

	if (rl == NULL || rl->limit == 0 || addr == NULL ||
	    strlen(addr) >= RL_ADDR_MAX)
		return 0;
	pthread_mutex_lock(&rl->lock);
	if ((s = rl_find(rl, addr, now, 0)) != NULL &&
	    now - s->window_start < rl->window && s->count >= rl->limit)
		wait = (int)(s->window_start + rl->window - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void
ratelimit_failure(struct ratelimit *rl, const char *addr, int64_t now)
{
	struct rl_slot *s;

	if (rl == NULL || rl->limit == 0 || addr == NULL ||
	    strlen(addr) >= RL_ADDR_MAX)
		return;
	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, addr, now, 1);
	if (now - s->window_start >= rl->window) {
		s->window_start = now;
		s->count = 0;
	}
	if (s->count < rl->limit)
		s->count++;
	pthread_mutex_unlock(&rl->lock);
}
