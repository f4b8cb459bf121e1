/*
 * The transfer engine: libcurl's multi interface running up to "jobs"
 * S3 calls at once over reused keep-alive connections.  This is the one
 * place that decides whether a failed attempt is tried again, and when.
 */
#include "config.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "extern.h"
#include "s3.h"

#define BACKOFF_BASE_MS	200
#define BACKOFF_MAX_MS	20000

/* A call's place in the engine: kept from one attempt to the next. */
struct xfer_slot {
	int		 attempt;	/* retries so far */
	uint64_t	 not_before;	/* monotonic ms */
	struct s3_call	*next;		/* in the queue */
};

struct xfer {
	struct xfer_ops	 ops;
	CURLM		*multi;
	int		 jobs;
	int		 running;	/* easy handles inside the multi */
	int		 queued;	/* calls waiting in the queue */
	struct s3_call	*head;		/* waiting to start, FIFO */
	struct s3_call	*tail;
	xfer_feed_fn	 feed;		/* produces new calls on demand */
	void		*feed_arg;
	int		 feed_waiting;	/* feed said "nothing now" */
	int		 feed_later;	/* ...and another thread will wake us */
};

/*
 * A new engine running at most "jobs" requests at once, with "ops"
 * (copied) for what only the callers' layer knows.  Returns NULL when
 * libcurl cannot start (reported).
 */
struct xfer *
xfer_new(const struct xfer_ops *ops, int jobs)
{
	struct xfer *x;

	x = xcalloc(1, sizeof(*x));
	x->ops = *ops;
	x->jobs = jobs;
	if ((x->multi = curl_multi_init()) == NULL) {
		warnx("cannot start libcurl");
		free(x);
		return NULL;
	}
	/* One connection per concurrent request, kept alive between them. */
	curl_multi_setopt(x->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)jobs);
	curl_multi_setopt(x->multi, CURLMOPT_MAXCONNECTS, (long)jobs + 4);
	return x;
}

/* Free the engine; accepts NULL.  Calls still queued are not freed. */
void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	curl_multi_cleanup(x->multi);
	free(x);
}

/* Free a call's engine state (by s3_call_free); accepts NULL. */
void
xfer_slot_free(struct xfer_slot *slot)
{
	free(slot);
}

/*
 * Have the engine call "feed"("arg") whenever it has room for more
 * work: the feed submits the next call and returns XFER_FEED_MORE;
 * XFER_FEED_WAIT when nothing can start until a call under way
 * finishes, XFER_FEED_LATER when another thread will call xfer_wakeup
 * once something can start, XFER_FEED_DONE when nothing is left at all.
 */
void
xfer_set_feed(struct xfer *x, xfer_feed_fn feed, void *arg)
{
	x->feed = feed;
	x->feed_arg = arg;
}

/* Queue call "c"; its done callback runs once it succeeded or gave up. */
void
xfer_submit(struct xfer *x, struct s3_call *c)
{
	if (c->slot == NULL)
		c->slot = xcalloc(1, sizeof(*c->slot));
	x->queued++;
	c->slot->next = NULL;
	if (x->tail != NULL)
		x->tail->slot->next = c;
	else
		x->head = c;
	x->tail = c;
}

/*
 * The wait before retry "attempt" (1-based): exponential backoff with
 * jitter, in milliseconds.
 */
uint64_t
xfer_backoff_ms(int attempt)
{
	uint64_t cap;

	cap = BACKOFF_BASE_MS;
	while (attempt-- > 1 && cap < BACKOFF_MAX_MS)
		cap *= 2;
	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	/* Half fixed, half random: spreads retries without losing the wait. */
	return cap / 2 + (uint64_t)random() % (cap / 2 + 1);
}

/* Whether a finished attempt is worth another try. */
static int
xfer_retryable(const struct s3_call *c)
{
	switch (c->curl_code) {
	case CURLE_OK:
		break;
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
	case CURLE_WRITE_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* Local trouble or a TLS trust failure: trying again won't help. */
		return 0;
	default:
		/* Connection refused, reset, timed out, DNS... */
		return 1;
	}
	if (c->status == 500 || c->status == 502 || c->status == 503 ||
	    c->status == 504)
		return 1;
	if (c->err.code != NULL && (strcmp(c->err.code, "RequestTimeout") == 0 ||
	    strcmp(c->err.code, "SlowDown") == 0 ||
	    strcmp(c->err.code, "InternalError") == 0))
		return 1;
	/*
	 * A body sent from memory was hashed from the very bytes sent: a
	 * digest mismatch means they were damaged on the way; send them
	 * again.  (A body streamed from a file may have changed under the
	 * read: its owner re-reads it instead.)
	 */
	if (c->err.code != NULL && c->body != NULL && c->body_fd < 0 &&
	    (strcmp(c->err.code, "BadDigest") == 0 ||
	    strcmp(c->err.code, "XAmzContentSHA256Mismatch") == 0))
		return 1;
	return 0;
}

/* Start every waiting call that is due, as long as there is room. */
static void
xfer_start(struct xfer *x, uint64_t now)
{
	struct s3_call *c, *prev = NULL, *next;
	CURL *easy;
	int r;

	/* Ask for new work only while the queue cannot fill the free slots. */
	x->feed_waiting = x->feed_later = 0;
	if (stop_requested)
		x->feed = NULL;
	while (x->feed != NULL && x->running + x->queued < x->jobs) {
		r = x->feed(x->feed_arg);
		if (r == XFER_FEED_DONE)
			x->feed = NULL;
		else if (r == XFER_FEED_WAIT || r == XFER_FEED_LATER)
			x->feed_waiting = 1;
		x->feed_later = r == XFER_FEED_LATER;
		if (r != XFER_FEED_MORE)
			break;
	}
	for (c = x->head; c != NULL && x->running < x->jobs; c = next) {
		next = c->slot->next;
		if (c->slot->not_before > now) {
			prev = c;
			continue;
		}
		if (prev != NULL)
			prev->slot->next = next;
		else
			x->head = next;
		if (x->tail == c)
			x->tail = prev;
		c->slot->next = NULL;
		x->queued--;

		if ((easy = curl_easy_init()) == NULL)
			errx(EXIT_FATAL, "curl_easy_init: out of memory");
		if (x->ops.prepare(x->ops.arg, c, easy) == -1) {
			curl_easy_cleanup(easy);
			c->curl_code = CURLE_URL_MALFORMAT;
			c->curl_msg = xstrdup("cannot sign the request");
			c->ok = 0;
			if (c->done != NULL)
				c->done(c, c->arg);
			continue;
		}
		curl_easy_setopt(easy, CURLOPT_PRIVATE, c);
		curl_multi_add_handle(x->multi, easy);
		x->running++;
	}
}

/* One attempt ended: retry it, or hand it to its owner. */
static void
xfer_finished(struct xfer *x, CURL *easy, CURLcode code)
{
	struct s3_call *c = NULL;
	int max_retries = x->ops.max_retries;
	char *why;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &c->status);
	c->curl_code = code;
	if (code != CURLE_OK)
		c->curl_msg = xasprintf("%s", curl_easy_strerror(code));
	curl_multi_remove_handle(x->multi, easy);
	curl_easy_cleanup(easy);
	x->running--;

	if (x->ops.finish(x->ops.arg, c)) {
		xfer_submit(x, c);
		return;
	}
	if (!c->ok && xfer_retryable(c) && c->slot->attempt < max_retries) {
		c->slot->attempt++;
		c->slot->not_before = now_ms() +
		    xfer_backoff_ms(c->slot->attempt);
		why = x->ops.errstr(c);
		logmsg(1, "%s %s%s%s: %s; retry %d of %d", c->method,
		    c->bucket != NULL ? c->bucket : "", c->key ? "/" : "",
		    c->key != NULL ? c->key : "", why, c->slot->attempt,
		    max_retries);
		free(why);
		xfer_submit(x, c);
		return;
	}
	if (c->done != NULL)
		c->done(c, c->arg);
}

/*
 * From any thread: make xfer_run ask its feed again soon ("arg" is the
 * struct xfer).
 */
void
xfer_wakeup(void *arg)
{
	struct xfer *x = arg;

	/* libcurl allows this one call from any thread. */
	curl_multi_wakeup(x->multi);
}

/*
 * Run until every queued call has finished (done callbacks and the
 * feed may queue more).  Returns 0, or -1 when the engine itself
 * failed (reported).
 */
int
xfer_run(struct xfer *x)
{
	struct s3_call *c;
	CURLMsg *msg;
	uint64_t now, wait;
	int still, left;

	for (;;) {
		now = now_ms();
		xfer_start(x, now);
		if (x->running == 0 && x->head == NULL && x->feed == NULL)
			break;
		if (x->running == 0 && x->head == NULL && x->feed_waiting &&
		    !x->feed_later) {
			/* The feed waits for a call, but none is under way. */
			warnx("internal error: the transfer feed stalled");
			return -1;
		}
		if (curl_multi_perform(x->multi, &still) != CURLM_OK) {
			warnx("libcurl multi interface failed");
			return -1;
		}
		while ((msg = curl_multi_info_read(x->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				xfer_finished(x, msg->easy_handle,
				    msg->data.result);
		if (x->running == 0 && x->head == NULL && x->feed == NULL)
			break;
		/* Sleep until there is I/O or the next retry is due. */
		wait = 1000;
		now = now_ms();
		if (x->feed != NULL && !x->feed_waiting &&
		    x->running + x->queued < x->jobs)
			wait = 0;
		for (c = x->head; c != NULL; c = c->slot->next) {
			if (x->running >= x->jobs)
				break;
			if (c->slot->not_before <= now) {
				wait = 0;
				break;
			}
			if (c->slot->not_before - now < wait)
				wait = c->slot->not_before - now;
		}
		if (wait > 0)
			curl_multi_poll(x->multi, NULL, 0, (int)wait, NULL);
	}
	return 0;
}
