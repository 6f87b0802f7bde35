/*
 * agent_http: the agent's one HTTP port (libmicrohttpd, a thread per
 * connection, so that a request may wait for the group commit or follow
 * a live log).
 *
 *   POST /webhook                 deliveries from GitHub, Gitea/Forgejo, GitLab
 *   GET  /healthz                 {"status":"ok","version":...}; 503 while draining
 *   GET  /metrics                 Prometheus text
 *   GET  /runs, GET /runs/{id}, GET /runs/{id}/logs,
 *   POST /runs, POST /runs/{id}/cancel     (Authorization: Bearer API__TOKEN)
 *   GET  /.well-known/openid-configuration, /.well-known/jwks
 *
 * Threat model: everything that reaches this port is untrusted. A webhook
 * body is read only up to SERVER__MAX_BODY (a longer Content-Length is
 * refused before the body is read) and is parsed only after its signature
 * checked out (webhook.c); the API compares bearer tokens by their SHA-256
 * in constant time; answers never carry a secret. A delivery is answered
 * 2xx only after the queue committed it.
 */
#include "agent.h"
#include "agent_api.h"
#include "oidc.h"
#include "webhook.h"

#include "../lib/buf.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <string.h>
#include <stdlib.h>

/* what one connection's request collects between calls */
struct req {
	struct buf body;
	size_t seen;		/* bytes of body received, kept or not */
	size_t held;		/* of those, counted in ag->unverified */
	bool too_large;
	bool over_budget;	/* ag->unverified was full */
	bool answered;		/* a response was queued already */
};

const char *const agent_delivery_result_names[8] = {
	"queued", "duplicate", "ignored", "ping", "unauthorized", "invalid",
	"too_large", "unavailable",
};

static const char *header_of(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static void count(struct agent *ag, enum agent_delivery_result r)
{
	atomic_fetch_add(&ag->deliveries[r], 1);
}

/* POST /webhook, the body complete */
static enum MHD_Result webhook(struct agent *ag, struct MHD_Connection *c,
			       struct req *rq)
{
	struct webhook w = { 0 };
	struct err e = ERR_INIT;
	struct intake_req ir;
	char *secret, *payload = NULL;
	unsigned status;
	bool draining;
	enum MHD_Result ret;
	int rc;

	pthread_mutex_lock(&ag->lock);
	draining = ag->draining;
	pthread_mutex_unlock(&ag->lock);
	if (draining) {
		count(ag, DLV_UNAVAILABLE);
		return http_error(c, 503, "the agent is shutting down; deliver again later");
	}
	if (rq->too_large) {
		count(ag, DLV_TOO_LARGE);
		return http_error(c, 413, "the body is larger than SERVER__MAX_BODY");
	}
	pthread_rwlock_rdlock(&ag->cfg_lock);
	secret = xstrdup(ag->cfg.webhook_secret);
	pthread_rwlock_unlock(&ag->cfg_lock);
	rc = webhook_parse(&w, header_of, c, rq->body.ptr, rq->body.len,
			   (size_t)ag->cfg.max_body, secret, &e);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	if (rc < 0) {
		switch (e.code) {
		case ERR_AUTH:
			status = 401;
			count(ag, DLV_UNAUTHORIZED);
			break;
		case ERR_LIMIT:
			status = 413;
			count(ag, DLV_TOO_LARGE);
			break;
		default:
			status = 400;
			count(ag, DLV_INVALID);
			break;
		}
		log_msg(LOG_INFO, "agent: webhook refused (%u): %s", status, e.msg);
		return http_error(c, status, e.msg);
	}
	if (w.kind == WEBHOOK_PING) {
		count(ag, DLV_PING);
		ret = http_json(c, 200, json_pack("{s:s,s:s}", "status", "pong",
						  "forge", forge_name(w.forge)));
		goto done;
	}
	if (w.kind == WEBHOOK_IGNORED || w.deleted) {
		count(ag, DLV_IGNORED);
		ret = http_json(c, 202, json_pack("{s:s,s:s,s:s}", "status", "ignored",
			"event", w.event ? w.event : "", "reason", w.deleted ?
			"the ref was deleted" : "gantry runs on push events"));
		goto done;
	}
	payload = json_dumps(w.event_payload, JSON_COMPACT);
	memset(&ir, 0, sizeof(ir));
	ir.run.delivery = w.delivery;
	ir.run.forge = forge_name(w.forge);
	ir.run.event = "push";
	ir.run.repo = w.repo;
	ir.run.clone_url = w.clone_url;
	ir.run.ref = w.ref;
	ir.run.sha = w.after;
	ir.run.payload = payload ? payload : "{}";
	if (agent_intake_submit(ag, &ir) < 0) {
		count(ag, DLV_UNAVAILABLE);
		log_msg(LOG_ERROR, "agent: delivery %s not stored: %s", w.delivery, ir.e.msg);
		ret = http_error(c, 503, "the delivery could not be stored; deliver it again");
		goto done;
	}
	count(ag, ir.dup ? DLV_DUPLICATE : DLV_QUEUED);
	ret = http_json(c, ir.dup ? 200 : 202, json_pack("{s:s,s:I,s:s}",
		"status", ir.dup ? "duplicate" : "queued", "run_id",
		(json_int_t)ir.run_id, "delivery", w.delivery));
done:
	free(payload);
	webhook_release(&w);
	return ret;
}

static enum MHD_Result healthz(struct agent *ag, struct MHD_Connection *c)
{
	bool draining;

	pthread_mutex_lock(&ag->lock);
	draining = ag->draining;
	pthread_mutex_unlock(&ag->lock);
	return http_json(c, draining ? 503 : 200, json_pack("{s:s,s:s,s:s}",
		"status", draining ? "draining" : "ok", "version", GANTRY_VERSION,
		"queue", ag->api_q ? queue_backend(ag->api_q) : "none"));
}

static enum MHD_Result oidc_doc(struct agent *ag, struct MHD_Connection *c,
				bool jwks)
{
	const char *iss;
	json_t *j;

	if (!ag->oidc)
		return http_error(c, 404, "the OIDC issuer is not available on this agent");
	if (jwks)
		return http_json(c, 200, agent_jwks(ag));
	pthread_rwlock_rdlock(&ag->cfg_lock);
	iss = ag->cfg.oidc_issuer ? ag->cfg.oidc_issuer : ag->cfg.public_url;
	j = oidc_discovery(iss, oidc_alg(ag->oidc));
	pthread_rwlock_unlock(&ag->cfg_lock);
	return http_json(c, 200, j);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct agent *ag = cls;
	struct req *rq = *con_cls;
	bool post = !strcmp(method, "POST");

	(void)version;
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     "Content-Length");
		long long n;
		size_t cap = !strcmp(url, "/webhook") ? (size_t)ag->cfg.max_body
						      : AGENT_API_MAX_BODY;
		char *end;

		rq = xcalloc(1, sizeof(*rq));
		buf_init(&rq->body, cap);
		*con_cls = rq;
		if (post && cl) {
			n = strtoll(cl, &end, 10);
			if (*end || n < 0 || (unsigned long long)n > cap) {
				/* refused before a byte of it is read */
				rq->answered = true;
				if (!strcmp(url, "/webhook"))
					count(ag, DLV_TOO_LARGE);
				return http_error(c, 413, "the body is larger than the limit");
			}
		}
		return MHD_YES;
	}
	if (*upload_size) {
		rq->seen += *upload_size;
		if (!rq->too_large && !rq->over_budget &&
		    atomic_fetch_add(&ag->unverified, (long long)*upload_size) +
		    (long long)*upload_size > AGENT_UNVERIFIED_MAX) {
			/* all connections together hold at most this much */
			atomic_fetch_sub(&ag->unverified, (long long)*upload_size);
			rq->over_budget = true;
			buf_release(&rq->body);
		} else if (!rq->too_large && !rq->over_budget) {
			rq->held += *upload_size;
			if (buf_add(&rq->body, upload, *upload_size) < 0) {
				rq->too_large = true;
				buf_release(&rq->body);
			}
		}
		*upload_size = 0;
		/* a chunked body over the limit is read on (to answer 413) up
		 * to twice the limit, then the connection is closed */
		if ((rq->too_large || rq->over_budget) && rq->seen > 2 * rq->body.max)
			return MHD_NO;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	if (rq->over_budget) {
		if (!strcmp(url, "/webhook"))
			count(ag, DLV_UNAVAILABLE);
		return http_error(c, 503, "the agent is receiving too much at once; "
				  "deliver again later");
	}
	if (!strcmp(url, "/webhook")) {
		if (!post)
			return http_error(c, 405, "POST a delivery here");
		return webhook(ag, c, rq);
	}
	if (!strcmp(url, "/healthz") && !strcmp(method, "GET"))
		return healthz(ag, c);
	if (!strcmp(url, "/metrics") && !strcmp(method, "GET"))
		return agent_metrics(ag, c);
	if (!strcmp(url, "/.well-known/openid-configuration") && !strcmp(method, "GET"))
		return oidc_doc(ag, c, false);
	if (!strcmp(url, "/.well-known/jwks") && !strcmp(method, "GET"))
		return oidc_doc(ag, c, true);
	if (!strcmp(url, "/runs") || str_starts_with(url, "/runs/")) {
		if (rq->too_large)
			return http_error(c, 413, "the body is larger than the limit");
		return agent_api(ag, c, url, method, rq->body.ptr, rq->body.len);
	}
	return http_error(c, 404, "not found");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)c;
	(void)toe;
	if (!rq)
		return;
	atomic_fetch_sub(&((struct agent *)cls)->unverified, (long long)rq->held);
	buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* "host:port" or "[v6]:port" into an address */
static int parse_listen(struct sockaddr_storage *ss, socklen_t *len, bool *v6,
			const char *listen, struct err *e)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	const char *colon = strrchr(listen, ':');
	char *host;
	int rc;

	if (!colon)
		return err_set(e, ERR_INVALID, "server.listen '%s': expected HOST:PORT", listen);
	if (listen[0] == '[' && colon > listen && colon[-1] == ']')
		host = xstrndup(listen + 1, (size_t)(colon - listen - 2));
	else
		host = xstrndup(listen, (size_t)(colon - listen));
	rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai);
	free(host);
	if (rc || !ai)
		return err_set(e, ERR_INVALID, "server.listen '%s': %s", listen,
			       gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	*v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	return 0;
}

int agent_http_start(struct agent *ag, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool v6 = false;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL;

	if (parse_listen(&ss, &len, &v6, ag->cfg.listen, e) < 0)
		return -1;
	if (v6)
		flags |= MHD_USE_IPv6;
	ag->httpd = MHD_start_daemon(flags, 0, NULL, NULL, handle, ag,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				     MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, ag,
				     /* small stacks: glibc caches those of ended
				      * threads, up to 40 MiB of them */
				     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
				     MHD_OPTION_END);
	if (!ag->httpd)
		return err_sys(e, ERR_IO, "cannot listen on %s (server.listen)", ag->cfg.listen);
	info = MHD_get_daemon_info(ag->httpd, MHD_DAEMON_INFO_BIND_PORT);
	ag->port = info ? info->port : 0;
	return 0;
}

void agent_http_stop(struct agent *ag)
{
	if (ag->httpd)
		MHD_stop_daemon(ag->httpd);
	ag->httpd = NULL;
}
