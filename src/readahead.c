/*
 * The parts of a multipart file, prepared ahead in a thread of their
 * own: read, checked against the file as it stood when the upload
 * began, sealed (--encrypt-key), and hashed (the part's MD5 for
 * Content-MD5, the whole object's MD5, the keyed plaintext checksum).
 * That is most of a large upload's CPU time; done in the engine's
 * thread it left the sockets idle while it ran.  Parts are prepared in
 * order (the whole-object hashes need that), at most RA_AHEAD of them
 * waiting, so memory stays near (jobs + RA_AHEAD) parts.
 *
 * The thread touches only what readahead_start handed it; the engine's
 * thread learns of each part through readahead_take, and of a failure
 * through a part without a buffer, whose reason it reports itself.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/md5.h>

#include "extern.h"

#define RA_AHEAD	2	/* parts prepared and not yet taken */

struct readahead {
	struct ra_spec	 spec;
	pthread_t	 tid;
	pthread_mutex_t	 lock;
	pthread_cond_t	 room;		/* a part was taken, or stop */
	struct ra_part	 ready[RA_AHEAD];	/* a ring */
	unsigned	 head;
	unsigned	 count;
	uint32_t	 taken;		/* parts handed out */
	int		 stop;
	int		 ended;		/* the thread returned */
};

/* Seal plaintext part "n" (freed) as stored: the header before part 1. */
static char *
ra_seal(const struct ra_spec *s, uint32_t n, char *plain, size_t *len)
{
	size_t head = n == 0 ? s->obj->hlen : 0, out;
	unsigned char *buf;

	buf = xmalloc(head + crypt_sealed_len(*len));
	memcpy(buf, s->obj->hdr, head);
	/* Chunks are numbered through the object: a part always seals alike. */
	out = crypt_seal(s->obj, (uint64_t)n * s->part_size / CRYPT_CHUNK,
	    n + 1 == s->nparts, (unsigned char *)plain, *len, buf + head);
	free(plain);
	*len = head + out;
	return (char *)buf;
}

/*
 * Prepare part "n" into *p: its bytes as sent and their MD5, or no
 * buffer and the reason.
 */
static void
ra_prepare(struct readahead *ra, uint32_t n, struct ra_part *p)
{
	const struct ra_spec *s = &ra->spec;
	mbedtls_md5_context ctx;
	struct stat now;
	uint64_t off = (uint64_t)n * s->part_size, want;
	size_t got = 0;
	ssize_t r;
	char *buf;

	memset(p, 0, sizeof(*p));
	p->n = n;
	want = s->size - off < s->part_size ? s->size - off : s->part_size;
	buf = xmalloc(want > 0 ? want : 1);
	while (got < want) {
		r = pread(s->fd, buf + got, want - got, (off_t)(off + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			p->why = xasprintf("read: %s", r == 0 ?
			    "the file shrank" : strerror(errno));
			p->changed = 1;
			free(buf);
			return;
		}
		got += (size_t)r;
	}
	if (fstat(s->fd, &now) == -1 || now.st_size != s->st->st_size ||
	    now.st_mtim.tv_sec != s->st->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != s->st->st_mtim.tv_nsec) {
		p->why = xstrdup("changed while being read; not backed up "
		    "this run");
		p->changed = 1;
		free(buf);
		return;
	}
	if (s->hmac != NULL)
		mbedtls_md_hmac_update(s->hmac, (unsigned char *)buf, got);
	if (s->obj != NULL)
		buf = ra_seal(s, n, buf, &got);
	mbedtls_md5_init(&ctx);
	mbedtls_md5_starts_ret(&ctx);
	mbedtls_md5_update_ret(&ctx, (unsigned char *)buf, got);
	mbedtls_md5_finish_ret(&ctx, p->md5);
	mbedtls_md5_free(&ctx);
	mbedtls_md5_update_ret(s->whole, (unsigned char *)buf, got);
	p->buf = buf;
	p->len = got;
}

static void *
ra_thread(void *arg)
{
	struct readahead *ra = arg;
	struct ra_part p;
	uint32_t n;
	int failed = 0;

	for (n = 0; n < ra->spec.nparts && !failed; n++) {
		pthread_mutex_lock(&ra->lock);
		while (ra->count == RA_AHEAD && !ra->stop)
			pthread_cond_wait(&ra->room, &ra->lock);
		if (ra->stop) {
			pthread_mutex_unlock(&ra->lock);
			break;
		}
		pthread_mutex_unlock(&ra->lock);
		ra_prepare(ra, n, &p);
		failed = p.buf == NULL;
		pthread_mutex_lock(&ra->lock);
		ra->ready[(ra->head + ra->count) % RA_AHEAD] = p;
		ra->count++;
		pthread_mutex_unlock(&ra->lock);
		ra->spec.wake(ra->spec.wake_arg);
	}
	pthread_mutex_lock(&ra->lock);
	ra->ended = 1;
	pthread_mutex_unlock(&ra->lock);
	ra->spec.wake(ra->spec.wake_arg);
	return NULL;
}

/*
 * Start a thread that prepares parts 0 .. nparts-1 of "spec" (copied;
 * what it points to must outlive the thread) in order: read, check size
 * and mtime against spec->st, update hmac with the plaintext, seal with
 * obj, MD5 of the part, update whole; keeping a few ready and calling
 * spec->wake after each.  It stops after a failed part.  Returns the
 * readahead (end it with readahead_stop), or NULL if no thread starts
 * (not reported).
 */
struct readahead *
readahead_start(const struct ra_spec *spec)
{
	struct readahead *ra;

	ra = xcalloc(1, sizeof(*ra));
	ra->spec = *spec;
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->room, NULL);
	if (pthread_create(&ra->tid, NULL, ra_thread, ra) != 0) {
		pthread_cond_destroy(&ra->room);
		pthread_mutex_destroy(&ra->lock);
		free(ra);
		return NULL;
	}
	return ra;
}

/*
 * The next prepared part into *out (the caller owns out->buf and
 * out->why): 1; 0 when none is ready yet (spec->wake will be called);
 * -1 when there are no more.  hmac and whole are complete once every
 * part was taken.
 */
int
readahead_take(struct readahead *ra, struct ra_part *out)
{
	int r;

	pthread_mutex_lock(&ra->lock);
	if (ra->count > 0) {
		*out = ra->ready[ra->head];
		ra->head = (ra->head + 1) % RA_AHEAD;
		ra->count--;
		ra->taken++;
		pthread_cond_signal(&ra->room);
		r = 1;
	} else
		r = ra->ended || ra->taken == ra->spec.nparts ? -1 : 0;
	pthread_mutex_unlock(&ra->lock);
	return r;
}

/*
 * Stop and join the thread, free the parts not taken, and free "ra".
 * Accepts NULL.
 */
void
readahead_stop(struct readahead *ra)
{
	if (ra == NULL)
		return;
	pthread_mutex_lock(&ra->lock);
	ra->stop = 1;
	pthread_cond_signal(&ra->room);
	pthread_mutex_unlock(&ra->lock);
	pthread_join(ra->tid, NULL);
	for (; ra->count > 0; ra->count--) {
		free(ra->ready[ra->head].buf);
		free(ra->ready[ra->head].why);
		ra->head = (ra->head + 1) % RA_AHEAD;
	}
	pthread_cond_destroy(&ra->room);
	pthread_mutex_destroy(&ra->lock);
	free(ra);
}
