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

struct xfer {
	struct s3	*s3;
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

struct xfer *
xfer_new(struct s3 *s3, int jobs)
{
	struct xfer *x;

	x = xcalloc(1, sizeof(*x));
	x->s3 = s3;
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

void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	curl_multi_cleanup(x->multi);
	free(x);
}

void
xfer_set_feed(struct xfer *x, xfer_feed_fn feed, void *arg)
{
	x->feed = feed;
	x->feed_arg = arg;
}

void
xfer_submit(struct xfer *x, struct s3_call *c)
{
	x->queued++;
	c->next = NULL;
	if (x->tail != NULL)
		x->tail->next = c;
	else
		x->head = c;
	x->tail = c;
}

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

/*
 * A 301, or a 400 naming another region, means the bucket lives
 * elsewhere: switch the client's region once and go again at once.
 */
static int
xfer_redirect(struct xfer *x, struct s3_call *c)
{
	const char *region;

	if (c->redirected || (c->status != 301 && c->status != 400))
		return 0;
	region = c->bucket_region != NULL ? c->bucket_region : c->err.region;
	if (region == NULL || *region == '\0' ||
	    strcmp(region, x->s3->region) == 0)
		return 0;
	logmsg(1, "bucket %s is in region %s, not %s: following it",
	    c->bucket != NULL ? c->bucket : "", region, x->s3->region);
	free(x->s3->region);
	x->s3->region = xstrdup(region);
	c->redirected = 1;
	return 1;
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
		next = c->next;
		if (c->not_before > now) {
			prev = c;
			continue;
		}
		if (prev != NULL)
			prev->next = next;
		else
			x->head = next;
		if (x->tail == c)
			x->tail = prev;
		c->next = NULL;
		x->queued--;

		if ((easy = curl_easy_init()) == NULL)
			errx(3, "curl_easy_init: out of memory");
		if (s3_call_prepare(x->s3, c, easy) == -1) {
			curl_easy_cleanup(easy);
			c->easy = NULL;
			c->curl_code = CURLE_URL_MALFORMAT;
			c->curl_msg = xstrdup("cannot sign the request");
			c->ok = 0;
			if (c->done != NULL)
				c->done(c, c->arg);
			continue;
		}
		curl_multi_add_handle(x->multi, easy);
		x->running++;
	}
}

/* One attempt ended: retry it, or hand it to its owner. */
static void
xfer_finished(struct xfer *x, CURL *easy, CURLcode code)
{
	struct s3_call *c = NULL;
	int max_retries = x->s3->cfg->max_retries;
	char *why;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &c->status);
	c->curl_code = code;
	if (code != CURLE_OK)
		c->curl_msg = xasprintf("%s", curl_easy_strerror(code));
	curl_multi_remove_handle(x->multi, easy);
	curl_easy_cleanup(easy);
	c->easy = NULL;
	x->running--;
	s3_call_finish(c);

	if (!c->ok && (xfer_redirect(x, c) || sse_c_plain_retry(x->s3, c))) {
		xfer_submit(x, c);
		return;
	}
	if (!c->ok && xfer_retryable(c) && c->attempt < max_retries) {
		c->attempt++;
		c->not_before = now_ms() + xfer_backoff_ms(c->attempt);
		why = s3_call_errstr(c);
		logmsg(1, "%s %s%s%s: %s; retry %d of %d", c->method,
		    c->bucket != NULL ? c->bucket : "", c->key ? "/" : "",
		    c->key != NULL ? c->key : "", why, c->attempt, max_retries);
		free(why);
		xfer_submit(x, c);
		return;
	}
	if (c->done != NULL)
		c->done(c, c->arg);
}

void
xfer_wakeup(void *arg)
{
	struct xfer *x = arg;

	/* libcurl allows this one call from any thread. */
	curl_multi_wakeup(x->multi);
}

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
		for (c = x->head; c != NULL; c = c->next) {
			if (x->running >= x->jobs)
				break;
			if (c->not_before <= now) {
				wait = 0;
				break;
			}
			if (c->not_before - now < wait)
				wait = c->not_before - now;
		}
		if (wait > 0)
			curl_multi_poll(x->multi, NULL, 0, (int)wait, NULL);
	}
	return 0;
}
