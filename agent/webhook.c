/*
 * webhook: check a forge's delivery and reduce it to struct webhook.
 *
 * Threat model: anyone who can reach the agent's port sends bodies and
 * headers. Nothing of the body is read before its length is known to be
 * under the caller's cap and its signature (or GitLab's token) matched
 * the secret, in constant time. After that the sender is the forge, but
 * the payload is still checked field by field, because its strings end up
 * in git commands, URLs and file paths. Error messages never quote the
 * signature or the token, nor the secret (masked should a payload hold
 * it); values quoted from the payload are escaped to printable ASCII.
 */
#include "webhook.h"
#include "webhook_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/crypto.h"
#include "../lib/jsonx.h"
#include "../lib/mask.h"
#include "../lib/util.h"

static const char zero_sha[41] = "0000000000000000000000000000000000000000";

/* The header names of one forge family. */
struct family {
	enum forge forge;
	const char *event_hdr, *delivery_hdr, *sig_hdr;
	const char *sig_prefix;	/* "sha256=", "" or NULL for a token */
};

static const struct family families[] = {	/* the first present wins */
	{ FORGE_GITHUB, "X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "sha256=" },
	{ FORGE_GITEA, "X-Gitea-Event", "X-Gitea-Delivery", "X-Gitea-Signature", "" },
	{ FORGE_GITEA, "X-Forgejo-Event", "X-Forgejo-Delivery", "X-Forgejo-Signature", "" },
	{ FORGE_GITLAB, "X-Gitlab-Event", NULL, "X-Gitlab-Token", NULL },
};

/* GitLab's delivery ID, in order of preference. */
static const char *const gitlab_delivery_hdrs[] = {
	"X-Gitlab-Event-UUID", "Idempotency-Key", "X-Gitlab-Webhook-UUID",
};

/* The lists of changed files in a commit of every forge's push. */
static const char *const path_lists[] = { "added", "removed", "modified" };

const char *forge_name(enum forge f)
{
	static const char *const names[] = { "github", "gitea", "gitlab" };

	return (unsigned)f < ARRAY_SIZE(names) ? names[f] : "unknown";
}

void webhook_release(struct webhook *w)
{
	free(w->event);
	free(w->delivery);
	free(w->repo);
	free(w->clone_url);
	free(w->html_url);
	free(w->statuses_url);
	free(w->ref);
	free(w->sender);
	free(w->default_branch);
	strv_release(&w->paths);
	json_decref(w->event_payload);
	memset(w, 0, sizeof(*w));
}

void webhook_hmac_hex(char out[65], const char *key, const void *data,
		      size_t len)
{
	unsigned char md[CRYPTO_SHA256_LEN];

	crypto_hmac_sha256(md, key, strlen(key), data, len);
	hex_lower(out, md, sizeof(md));
}

/* ---- payload fields ---- */

/* The member of obj that field ("key" or "parent.key") names, as a
 * string, or NULL when absent or null; -1 when it is there but not a
 * string (or required and absent). */
static int get_str(const char **out, const json_t *obj, const char *field,
		   bool required, struct err *e)
{
	const char *dot = strrchr(field, '.');
	json_t *v = json_object_get(obj, dot ? dot + 1 : field);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return wh_field_err(e, field, "missing");
		return 0;
	}
	if (!json_is_string(v))
		return wh_field_err(e, field, "not a string");
	*out = json_string_value(v);
	return 0;
}

static int take_ref(struct webhook *w, const json_t *root, struct err *e)
{
	const char *s, *why;
	char q[QUOTE_BUF];

	if (get_str(&s, root, "ref", true, e))
		return -1;
	if ((why = wh_ref_problem(s)))
		return wh_field_err(e, "ref", "%s: %s", wh_quote(q, s), why);
	w->ref = xstrdup(s);
	return 0;
}

static int take_sha(char out[41], const json_t *root, const char *key,
		    struct err *e)
{
	const char *s;

	if (get_str(&s, root, key, true, e))
		return -1;
	if (!wh_hex_lower(out, s, 40))
		return wh_field_err(e, key, "not a commit SHA (40 hex digits)");
	return 0;
}

static int take_repo(struct webhook *w, const json_t *obj, const char *field,
		     struct err *e)
{
	const char *s, *why;
	char q[QUOTE_BUF];

	if (get_str(&s, obj, field, true, e))
		return -1;
	if ((why = wh_repo_problem(s, w->forge == FORGE_GITLAB)))
		return wh_field_err(e, field, "%s: %s", wh_quote(q, s), why);
	w->repo = xstrdup(s);
	return 0;
}

enum opt_kind { OPT_FETCH_URL, OPT_WEB_URL, OPT_NAME };

/* An optional URL or name into *out: absent, null or "" leave it NULL. */
static int take_opt(char **out, const json_t *obj, const char *field,
		    enum opt_kind kind, struct err *e)
{
	static const char *const why[] = {
		"not an https, http, ssh or git@ URL without spaces",
		"not an http(s) URL without spaces",
		"empty, over 255 characters or with control characters",
	};
	const char *s;

	if (get_str(&s, obj, field, false, e))
		return -1;
	if (!s || !*s)
		return 0;
	if (kind == OPT_NAME ? !wh_name_ok(s) : !wh_url_ok(s, kind == OPT_WEB_URL))
		return wh_field_err(e, field, "%s", why[kind]);
	*out = xstrdup(s);
	return 0;
}

/* ---- changed paths ---- */

struct pathset {
	const char **slot;	/* PATH_SLOTS entries, borrowed from out */
	struct strv *out;
};

static uint32_t path_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Add s unless seen; false once there are more than MAX_PATHS. */
static bool pathset_add(struct pathset *ps, const char *s)
{
	size_t i = path_hash(s) & (PATH_SLOTS - 1);

	while (ps->slot[i]) {
		if (!strcmp(ps->slot[i], s))
			return true;
		i = (i + 1) & (PATH_SLOTS - 1);
	}
	if (ps->out->n >= MAX_PATHS)
		return false;
	strv_push(ps->out, s);
	ps->slot[i] = ps->out->v[ps->out->n - 1];
	return true;
}

/* Fill w->paths from commits[].{added,removed,modified}; paths_known is
 * false when there are no commits, when cut (the payload says it lists
 * fewer commits than were pushed), when a commit has none of the three
 * lists, or when the paths pass MAX_PATHS. Entries not strings are
 * skipped. */
static void take_paths(struct webhook *w, const json_t *commits, bool cut)
{
	struct pathset ps = { NULL, &w->paths };
	const json_t *c, *item;
	size_t i, j, k;

	w->paths_known = false;
	if (!json_is_array(commits) || !json_array_size(commits) || cut)
		return;
	ps.slot = xcalloc(PATH_SLOTS, sizeof(*ps.slot));
	json_array_foreach(commits, i, c) {
		bool any = false;

		if (!json_is_object(c))
			goto unknown;
		for (k = 0; k < ARRAY_SIZE(path_lists); k++) {
			const json_t *list = json_object_get(c, path_lists[k]);

			if (!json_is_array(list))
				continue;
			any = true;
			json_array_foreach(list, j, item) {
				const char *s = json_string_value(item);

				if (s && *s && !pathset_add(&ps, s))
					goto unknown;
			}
		}
		if (!any)
			goto unknown;
	}
	w->paths_known = true;
	free(ps.slot);
	return;
unknown:
	free(ps.slot);
	strv_release(&w->paths);
	w->paths_known = false;
}

/* Whether a GitHub or Gitea payload says its commits[] is cut short:
 * GitHub's 2,048 or more, or Gitea's total_commits over those listed. */
static bool github_cut(const json_t *root, const json_t *commits)
{
	size_t n = json_array_size(commits);
	const json_t *total = json_object_get(root, "total_commits");

	if (n >= GITHUB_MAX_COMMITS)
		return true;
	return json_is_integer(total) && json_integer_value(total) > (json_int_t)n;
}

/* ---- GitHub and Gitea ---- */

/* The fields common to every forge's push, on the GitHub-shaped root. */
static int take_common(struct webhook *w, const json_t *root, struct err *e)
{
	if (take_ref(w, root, e) || take_sha(w->before, root, "before", e) ||
	    take_sha(w->after, root, "after", e))
		return -1;
	w->deleted = !strcmp(w->after, zero_sha) ||
		     json_is_true(json_object_get(root, "deleted"));
	return 0;
}

static int parse_github_push(struct webhook *w, json_t *root, struct err *e)
{
	const json_t *repo = json_object_get(root, "repository");
	const json_t *commits = json_object_get(root, "commits");

	if (take_common(w, root, e))
		return -1;
	if (!json_is_object(repo))
		return wh_field_err(e, "repository", "missing or not an object");
	if (take_repo(w, repo, "repository.full_name", e) ||
	    take_opt(&w->clone_url, repo, "repository.clone_url", OPT_FETCH_URL, e) ||
	    take_opt(&w->html_url, repo, "repository.html_url", OPT_WEB_URL, e) ||
	    take_opt(&w->statuses_url, repo, "repository.statuses_url", OPT_WEB_URL, e) ||
	    take_opt(&w->default_branch, repo, "repository.default_branch", OPT_NAME, e))
		return -1;
	if (!w->clone_url)
		return wh_field_err(e, "repository.clone_url", "missing");
	/* who pushed: sender.login, else pusher.login (Gitea), else
	 * pusher.name (GitHub's pusher is the login) */
	if (take_opt(&w->sender, json_object_get(root, "sender"), "sender.login",
		     OPT_NAME, e) ||
	    (!w->sender && take_opt(&w->sender, json_object_get(root, "pusher"),
				    "pusher.login", OPT_NAME, e)) ||
	    (!w->sender && take_opt(&w->sender, json_object_get(root, "pusher"),
				    "pusher.name", OPT_NAME, e)))
		return -1;
	if (commits && !json_is_array(commits))
		return wh_field_err(e, "commits", "not an array");
	take_paths(w, commits, github_cut(root, commits));
	w->event_payload = json_incref(root);
	return 0;
}

/* ---- GitLab ---- */

/* One commit of GitLab's in GitHub's shape: the strings among id,
 * message, timestamp, url and author.name/email, and the path lists. */
static json_t *gitlab_commit(const json_t *c)
{
	static const char *const keys[] = { "id", "message", "timestamp", "url" };
	static const char *const who[] = { "name", "email" };
	json_t *out = json_object(), *author = json_object_get(c, "author"), *v;
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_is_string(v = json_object_get(c, keys[i])))
			json_object_set_new(out, keys[i], json_deep_copy(v));
	if (json_is_object(author)) {
		json_t *a = json_object();

		for (i = 0; i < ARRAY_SIZE(who); i++)
			if (json_is_string(v = json_object_get(author, who[i])))
				json_object_set_new(a, who[i], json_deep_copy(v));
		json_object_set_new(out, "author", a);
	}
	for (i = 0; i < ARRAY_SIZE(path_lists); i++) {
		json_t *arr = json_array(), *item;

		json_array_foreach(json_object_get(c, path_lists[i]), j, item)
			if (json_is_string(item))
				json_array_append_new(arr, json_deep_copy(item));
		json_object_set_new(out, path_lists[i], arr);
	}
	return out;
}

/* GitHub's push payload from GitLab's: what a workflow reads from
 * github.event. */
static json_t *gitlab_translate(const struct webhook *w, const json_t *root)
{
	const json_t *commits = json_object_get(root, "commits"), *c;
	const char *slash = strrchr(w->repo, '/');
	char *owner = xstrndup(w->repo, (size_t)(slash - w->repo));
	const char *email = jsonx_str(root, "user_email");
	json_t *out = json_object(), *repo = json_object(), *list = json_array();
	json_t *pusher = json_object(), *head = NULL;
	size_t i;

	jsonx_set_str(out, "ref", w->ref);
	jsonx_set_str(out, "before", w->before);
	jsonx_set_str(out, "after", w->after);
	json_object_set_new(out, "created", json_boolean(!strcmp(w->before, zero_sha)));
	json_object_set_new(out, "deleted", json_boolean(w->deleted));
	jsonx_set_str(repo, "full_name", w->repo);
	jsonx_set_str(repo, "name", slash + 1);
	json_object_set_new(repo, "owner", json_pack("{s:s, s:s}", "login", owner,
						     "name", owner));
	jsonx_set_str(repo, "clone_url", w->clone_url);
	if (w->html_url)
		jsonx_set_str(repo, "html_url", w->html_url);
	if (w->default_branch)
		jsonx_set_str(repo, "default_branch", w->default_branch);
	json_object_set_new(out, "repository", repo);
	if (w->sender) {
		jsonx_set_str(pusher, "name", w->sender);
		json_object_set_new(out, "sender", json_pack("{s:s}", "login", w->sender));
	}
	if (email)
		jsonx_set_str(pusher, "email", email);
	json_object_set_new(out, "pusher", pusher);
	json_array_foreach(commits, i, c)
		if (json_is_object(c))
			json_array_append_new(list, gitlab_commit(c));
	if (json_array_size(list))
		head = json_incref(json_array_get(list, json_array_size(list) - 1));
	json_object_set_new(out, "commits", list);
	json_object_set_new(out, "head_commit", head ? head : json_null());
	free(owner);
	return out;
}

static int parse_gitlab_push(struct webhook *w, json_t *root, struct err *e)
{
	const json_t *project = json_object_get(root, "project");
	const json_t *commits = json_object_get(root, "commits");
	const json_t *total = json_object_get(root, "total_commits_count");
	const char *kind, *want;
	bool cut;

	want = !strcmp(w->event, "Tag Push Hook") ? "tag_push" : "push";
	if (get_str(&kind, root, "object_kind", true, e))
		return -1;
	if (strcmp(kind, want))
		return wh_field_err(e, "object_kind", "not \"%s\" as the event %s says",
				 want, w->event);
	if (take_common(w, root, e))
		return -1;
	if (!json_is_object(project))
		return wh_field_err(e, "project", "missing or not an object");
	if (take_repo(w, project, "project.path_with_namespace", e) ||
	    take_opt(&w->clone_url, project, "project.git_http_url", OPT_FETCH_URL, e) ||
	    (!w->clone_url &&
	     take_opt(&w->clone_url, project, "project.git_ssh_url", OPT_FETCH_URL, e)) ||
	    take_opt(&w->html_url, project, "project.web_url", OPT_WEB_URL, e) ||
	    take_opt(&w->default_branch, project, "project.default_branch", OPT_NAME, e) ||
	    take_opt(&w->sender, root, "user_username", OPT_NAME, e))
		return -1;
	if (!w->clone_url)
		return wh_field_err(e, "project.git_http_url", "missing");
	if (commits && !json_is_array(commits))
		return wh_field_err(e, "commits", "not an array");
	if (total && !json_is_integer(total))
		return wh_field_err(e, "total_commits_count", "not an integer");
	cut = total && json_integer_value(total) > (json_int_t)json_array_size(commits);
	take_paths(w, commits, cut);
	w->event_payload = gitlab_translate(w, root);
	return 0;
}

/* ---- the request ---- */

/* Whether the family's signature (or token) header matches the body. */
static int check_signature(const struct family *f, webhook_header_fn header,
			   void *ctx, const char *body, size_t len,
			   const char *secret, struct err *e)
{
	const char *v = header(ctx, f->sig_hdr);
	unsigned char a[CRYPTO_SHA256_LEN], b[CRYPTO_SHA256_LEN];
	char want[65], got[65];
	size_t plen;

	if (!v || !*v)
		return err_set(e, ERR_AUTH, "webhook: no %s header (set the secret on the forge's webhook)",
			       f->sig_hdr);
	if (!f->sig_prefix) {
		/* the token is the secret: compare digests, so neither the
		 * length nor the content leaks through timing */
		crypto_sha256(a, v, strlen(v));
		crypto_sha256(b, secret, strlen(secret));
		if (!crypto_memeq(a, b, sizeof(a)))
			return err_set(e, ERR_AUTH, "webhook: %s header does not match the secret",
				       f->sig_hdr);
		return 0;
	}
	plen = strlen(f->sig_prefix);
	if (plen && strncasecmp(v, f->sig_prefix, plen))
		return err_set(e, ERR_AUTH, "webhook: %s header does not start with \"%s\"",
			       f->sig_hdr, f->sig_prefix);
	if (!wh_hex_lower(got, v + plen, 64))
		return err_set(e, ERR_AUTH, "webhook: %s header is not %s%s%s64 hex digits",
			       f->sig_hdr, plen ? "\"" : "", f->sig_prefix,
			       plen ? "\" and " : "");
	webhook_hmac_hex(want, secret, body, len);
	if (!crypto_memeq(want, got, 64))
		return err_set(e, ERR_AUTH, "webhook: %s header does not match the body signed with the secret",
			       f->sig_hdr);
	return 0;
}

/* The delivery ID, "<forge>:<id>", into w->delivery. */
static int take_delivery(struct webhook *w, const struct family *f,
			 webhook_header_fn header, void *ctx, struct err *e)
{
	const char *name = f->delivery_hdr, *v = NULL;
	size_t i;

	if (name) {
		v = header(ctx, name);
	} else {
		for (i = 0; i < ARRAY_SIZE(gitlab_delivery_hdrs) && !v; i++)
			v = header(ctx, name = gitlab_delivery_hdrs[i]);
		if (!v)
			name = "X-Gitlab-Event-UUID, Idempotency-Key or X-Gitlab-Webhook-UUID";
	}
	if (!v)
		return err_set(e, ERR_INVALID, "webhook: no %s header", name);
	if (!wh_delivery_ok(v))
		return err_set(e, ERR_INVALID, "webhook: %s header is not 1 to 128 characters of A-Z a-z 0-9 . _ -",
			       name);
	w->delivery = xasprintf("%s:%s", forge_name(w->forge), v);
	return 0;
}

/* 1 when a JSON text nests deeper than MAX_DEPTH. Exact for valid JSON;
 * invalid JSON is refused by the parser whatever this says. */
static bool too_deep(const char *s, size_t len)
{
	size_t depth = 0, i;
	bool in_str = false;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > MAX_DEPTH)
				return true;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return false;
}

static int load_json(json_t **out, const char *body, size_t len, struct err *e)
{
	char why[JSON_ERROR_TEXT_LENGTH];
	json_error_t jerr;
	size_t i;

	*out = NULL;
	if (too_deep(body, len))
		return err_set(e, ERR_SYNTAX, "webhook body: JSON nested deeper than %d", MAX_DEPTH);
	*out = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
	if (!*out) {
		/* jansson's words, without the "near '...'" quoting the body */
		for (i = 0; jerr.text[i] && strncmp(jerr.text + i, " near ", 6) &&
			    i < sizeof(why) - 1; i++)
			why[i] = jerr.text[i] < 0x20 || jerr.text[i] > 0x7e ? '?' : jerr.text[i];
		why[i] = '\0';
		return err_set(e, ERR_SYNTAX, "webhook body is not JSON: line %d column %d: %s",
			       jerr.line, jerr.column, why);
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return err_set(e, ERR_SYNTAX, "webhook body: JSON is not an object");
	}
	return 0;
}

static enum webhook_kind kind_of(enum forge f, const char *event)
{
	if (f == FORGE_GITLAB)
		return !strcmp(event, "Push Hook") || !strcmp(event, "Tag Push Hook") ?
		       WEBHOOK_PUSH : WEBHOOK_IGNORED;
	return !strcmp(event, "push") ? WEBHOOK_PUSH :
	       !strcmp(event, "ping") ? WEBHOOK_PING : WEBHOOK_IGNORED;
}

/* The secret out of a message: a payload signed with it may quote it. */
static void scrub(struct err *e, const char *secret)
{
	struct mask *m;
	char *clean;

	if (!e || !strstr(e->msg, secret))
		return;
	mask_new(&m);
	mask_add(m, secret);
	clean = mask_str(m, e->msg);
	snprintf(e->msg, sizeof(e->msg), "%s", clean);
	free(clean);
	mask_free(m);
}

int webhook_parse(struct webhook *out, webhook_header_fn header, void *ctx,
		  const char *body, size_t len, size_t max_body,
		  const char *secret, struct err *e)
{
	const struct family *f = NULL;
	const char *event = NULL;
	json_t *root = NULL;
	int rc = -1;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!secret || !*secret)
		BUG("webhook_parse without a secret");
	if (!body)
		body = "";
	if (len > max_body) {
		err_set(e, ERR_LIMIT, "webhook body of %zu bytes is over the limit of %zu bytes",
			len, max_body);
		goto done;
	}
	for (i = 0; i < ARRAY_SIZE(families) && !event; i++)
		if ((event = header(ctx, families[i].event_hdr)))
			f = &families[i];
	if (!f) {
		err_set(e, ERR_INVALID, "webhook: no X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header");
		goto done;
	}
	out->forge = f->forge;
	if (check_signature(f, header, ctx, body, len, secret, e))
		goto done;
	if (!wh_event_ok(event)) {
		err_set(e, ERR_INVALID, "webhook: %s header is not 1 to 64 printable characters",
			f->event_hdr);
		goto done;
	}
	out->event = xstrdup(event);
	if (take_delivery(out, f, header, ctx, e))
		goto done;
	out->kind = kind_of(f->forge, event);
	if (out->kind == WEBHOOK_IGNORED) {
		rc = 0;
		goto done;
	}
	if (load_json(&root, body, len, e))
		goto done;
	if (out->kind == WEBHOOK_PING)
		out->event_payload = json_incref(root);
	else if (f->forge == FORGE_GITLAB ? parse_gitlab_push(out, root, e) :
		 parse_github_push(out, root, e))
		goto done;
	rc = 0;
done:
	json_decref(root);
	if (rc) {
		webhook_release(out);
		scrub(e, secret);
	}
	return rc;
}
