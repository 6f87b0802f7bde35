/*
 * workflow: loading a workflow file into the model of workflow.h.
 *
 * wf_load_mem() parses with yml, builds the model from whatever parts of
 * the tree have the right shape (so that later checks can still run on a
 * broken file), then runs validate.c's schema checks and the job graph
 * checks here (unknown needs, needs cycles). The workflow is handed out
 * only when no diagnostic was added.
 *
 * Diagnostics name the file by the path (or name) the caller passed in,
 * so they stay valid after a failed load has freed the document.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/util.h"
#include "validate.h"
#include "workflow.h"

#define WF_DEFAULT_MAX_BYTES (4u * 1024 * 1024)

/* The workflow with what only this file needs. */
struct wf_priv {
	struct workflow wf;
	size_t *by_id;		/* job indices sorted by id, for lookups */
};

static struct wf_priv *priv(const struct workflow *wf)
{
	return (struct wf_priv *)wf;
}

/* ---- diagnostics ---- */

void wf_diag_add(struct wf_diags *d, const struct yml_pos *pos,
		 const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	ALLOC_GROW(d->v, d->n + 1, d->alloc);
	d->v[d->n].pos = *pos;
	d->v[d->n].msg = buf_detach(&b, NULL);
	d->n++;
}

void wf_diags_release(struct wf_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	d->v = NULL;
	d->n = d->alloc = 0;
}

/* By line, then column, then the order they were added (stable). */
static int cmp_diag(const void *a, const void *b, void *ud)
{
	const struct wf_diags *d = ud;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct yml_pos *p = &d->v[x].pos;
	const struct yml_pos *q = &d->v[y].pos;

	if (p->line != q->line)
		return p->line < q->line ? -1 : 1;
	if (p->col != q->col)
		return p->col < q->col ? -1 : 1;
	return x < y ? -1 : x > y;
}

void wf_diags_print(const struct wf_diags *d, FILE *f)
{
	size_t *idx = xcalloc(d->n + 1, sizeof(*idx)), i;

	for (i = 0; i < d->n; i++)
		idx[i] = i;
	qsort_r(idx, d->n, sizeof(*idx), cmp_diag, (void *)d);
	for (i = 0; i < d->n; i++) {
		const struct wf_diag *g = &d->v[idx[i]];
		const char *file = g->pos.file ? g->pos.file : "<workflow>";

		if (g->pos.line > 0)
			fprintf(f, "%s:%d:%d: error: %s\n", file, g->pos.line,
				g->pos.col, g->msg);
		else
			fprintf(f, "%s: error: %s\n", file, g->msg);
	}
	free(idx);
}

/* A yml error reads "name:line:col: message": one diagnostic there. */
static void yaml_diag(struct wf_diags *d, const char *name, const char *msg)
{
	struct yml_pos pos = { name, 0, 0 };
	size_t nl = strlen(name);
	const char *p = msg;
	char *end;
	long line, col;

	if (!strncmp(p, name, nl) && p[nl] == ':') {
		line = strtol(p + nl + 1, &end, 10);
		if (*end == ':' && line > 0 && line < 1000000000) {
			col = strtol(end + 1, &end, 10);
			if (!strncmp(end, ": ", 2) && col > 0 &&
			    col < 1000000000) {
				pos.line = (int)line;
				pos.col = (int)col;
				p = end + 2;
			}
		}
	}
	if (pos.line == 0 && !strncmp(msg, name, nl) && msg[nl] == ':' &&
	    msg[nl + 1] == ' ')
		p = msg + nl + 2;
	wf_diag_add(d, &pos, "%s", p);
}

/* ---- building the model ---- */

static const char *const input_types[] = {
	"string", "boolean", "number", "choice", "environment",
};

static const char *scalar_str(const struct yml_node *n)
{
	return n && n->kind == YML_SCALAR && !yml_is_null(n) ? n->str : NULL;
}

static void build_inputs(struct wf_input **out, size_t *n,
			 const struct yml_node *inputs)
{
	size_t i, k;

	*out = NULL;
	*n = 0;
	if (!inputs || inputs->kind != YML_MAP || !inputs->n_pairs)
		return;
	*out = xcalloc(inputs->n_pairs, sizeof(**out));
	for (i = 0; i < inputs->n_pairs; i++) {
		struct wf_input *in = &(*out)[i];
		const struct yml_node *m = inputs->pairs[i].val;
		const char *type;
		bool req = false;

		in->name = xstrdup(inputs->pairs[i].key->str);
		in->type = input_types[0];
		if (m->kind != YML_MAP)
			continue;
		in->node = m;
		in->description = yml_get(m, "description");
		in->default_ = yml_get(m, "default");
		in->options = yml_get(m, "options");
		if (yml_get(m, "required") &&
		    yml_bool(yml_get(m, "required"), &req) == 0)
			in->required = req;
		type = scalar_str(yml_get(m, "type"));
		for (k = 0; type && k < ARRAY_SIZE(input_types); k++)
			if (!strcmp(type, input_types[k]))
				in->type = input_types[k];
	}
	*n = inputs->n_pairs;
}

static void add_trigger(struct workflow *wf, size_t *alloc, const char *ev,
			const struct yml_node *config)
{
	ALLOC_GROW(wf->triggers, wf->n_triggers + 1, *alloc);
	wf->triggers[wf->n_triggers].event = xstrdup(ev);
	wf->triggers[wf->n_triggers].config =
		config && !yml_is_null(config) ? config : NULL;
	wf->n_triggers++;
}

static void build_triggers(struct workflow *wf, const struct yml_node *on)
{
	const struct yml_node *cfg;
	size_t alloc = 0, i;

	if (!on)
		return;
	if (scalar_str(on))
		add_trigger(wf, &alloc, on->str, NULL);
	for (i = 0; on->kind == YML_SEQ && i < on->n_items; i++)
		if (scalar_str(on->items[i]))
			add_trigger(wf, &alloc, on->items[i]->str, NULL);
	for (i = 0; on->kind == YML_MAP && i < on->n_pairs; i++)
		add_trigger(wf, &alloc, on->pairs[i].key->str,
			    on->pairs[i].val);
	cfg = wf_find_trigger(wf, "workflow_dispatch") ?
		wf_find_trigger(wf, "workflow_dispatch")->config : NULL;
	build_inputs(&wf->dispatch_inputs, &wf->n_dispatch_inputs,
		     yml_get(cfg, "inputs"));
	cfg = wf_find_trigger(wf, "workflow_call") ?
		wf_find_trigger(wf, "workflow_call")->config : NULL;
	build_inputs(&wf->call_inputs, &wf->n_call_inputs,
		     yml_get(cfg, "inputs"));
	wf->call_secrets = yml_get(cfg, "secrets");
	wf->call_outputs = yml_get(cfg, "outputs");
}

static void build_step(struct wf_step *s, const struct yml_node *n)
{
	const char *id;

	s->pos = n->pos;
	s->node = n;
	if (n->kind != YML_MAP)
		return;
	id = scalar_str(yml_get(n, "id"));
	s->id = id ? xstrdup(id) : NULL;
	s->uses = scalar_str(yml_get(n, "uses"));
	s->name = yml_get(n, "name");
	s->if_ = yml_get(n, "if");
	s->run = yml_get(n, "run");
	s->shell = yml_get(n, "shell");
	s->working_directory = yml_get(n, "working-directory");
	s->env = yml_get(n, "env");
	s->with = yml_get(n, "with");
	s->continue_on_error = yml_get(n, "continue-on-error");
	s->timeout_minutes = yml_get(n, "timeout-minutes");
}

/* The k-th usable entry of a job's needs: (string or list of strings). */
static const struct yml_node *need_node(const struct yml_node *needs,
					size_t k)
{
	size_t i, seen = 0;

	if (scalar_str(needs))
		return k == 0 ? needs : NULL;
	for (i = 0; needs && needs->kind == YML_SEQ && i < needs->n_items; i++)
		if (scalar_str(needs->items[i]) && seen++ == k)
			return needs->items[i];
	return NULL;
}

static void build_job(struct wf_job *j, const struct yml_node *key,
		      const struct yml_node *n)
{
	const struct yml_node *needs, *steps, *x;
	size_t i, cap;

	j->id = xstrdup(key->str);
	j->pos = key->pos;
	j->node = n;
	if (n->kind != YML_MAP)
		return;
	needs = yml_get(n, "needs");
	cap = needs && needs->kind == YML_SEQ ? needs->n_items : 1;
	j->needs = xcalloc(cap, sizeof(*j->needs));
	for (i = 0; i < cap && (x = need_node(needs, i)); i++)
		j->needs[j->n_needs++] = xstrdup(x->str);
	j->name = yml_get(n, "name");
	j->if_ = yml_get(n, "if");
	j->runs_on = yml_get(n, "runs-on");
	j->environment = yml_get(n, "environment");
	j->outputs = yml_get(n, "outputs");
	j->env = yml_get(n, "env");
	j->defaults_run = yml_get(yml_get(n, "defaults"), "run");
	j->timeout_minutes = yml_get(n, "timeout-minutes");
	j->continue_on_error = yml_get(n, "continue-on-error");
	j->strategy = yml_get(n, "strategy");
	j->matrix = yml_get(j->strategy, "matrix");
	j->fail_fast = yml_get(j->strategy, "fail-fast");
	j->max_parallel = yml_get(j->strategy, "max-parallel");
	j->permissions = yml_get(n, "permissions");
	j->concurrency = yml_get(n, "concurrency");
	j->container = yml_get(n, "container");
	j->services = yml_get(n, "services");
	j->uses = scalar_str(yml_get(n, "uses"));
	j->with = yml_get(n, "with");
	j->secrets = yml_get(n, "secrets");
	steps = yml_get(n, "steps");
	if (!steps || steps->kind != YML_SEQ || !steps->n_items)
		return;
	j->steps = xcalloc(steps->n_items, sizeof(*j->steps));
	j->n_steps = steps->n_items;
	for (i = 0; i < steps->n_items; i++)
		build_step(&j->steps[i], steps->items[i]);
}

static int cmp_job_id(const void *a, const void *b, void *ud)
{
	const struct wf_priv *p = ud;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return strcmp(p->wf.jobs[x].id, p->wf.jobs[y].id);
}

static void build(struct wf_priv *p)
{
	struct workflow *wf = &p->wf;
	const struct yml_node *root = wf->doc->root, *jobs;
	size_t i;

	wf->name = yml_get(root, "name");
	wf->run_name = yml_get(root, "run-name");
	wf->env = yml_get(root, "env");
	wf->defaults_run = yml_get(yml_get(root, "defaults"), "run");
	wf->permissions = yml_get(root, "permissions");
	wf->concurrency = yml_get(root, "concurrency");
	build_triggers(wf, yml_get(root, "on"));
	jobs = yml_get(root, "jobs");
	if (jobs && jobs->kind == YML_MAP && jobs->n_pairs) {
		wf->jobs = xcalloc(jobs->n_pairs, sizeof(*wf->jobs));
		wf->n_jobs = jobs->n_pairs;
		for (i = 0; i < jobs->n_pairs; i++)
			build_job(&wf->jobs[i], jobs->pairs[i].key,
				  jobs->pairs[i].val);
	}
	p->by_id = xcalloc(wf->n_jobs + 1, sizeof(*p->by_id));
	for (i = 0; i < wf->n_jobs; i++)
		p->by_id[i] = i;
	qsort_r(p->by_id, wf->n_jobs, sizeof(*p->by_id), cmp_job_id, p);
}

/* Index of job id, or -1. */
static long job_index(const struct wf_priv *p, const char *id)
{
	size_t lo = 0, hi = p->wf.n_jobs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->wf.jobs[p->by_id[mid]].id, id);

		if (c == 0)
			return (long)p->by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- the job graph ---- */

/* Each job's needs as job indices (-1 for unknown), flattened: the needs
 * of job i are adj[off[i] .. off[i + 1]). */
struct graph {
	long *adj;
	size_t *off;
};

static void graph_build(struct graph *g, const struct wf_priv *p)
{
	size_t i, k, total = 0;

	for (i = 0; i < p->wf.n_jobs; i++)
		total += p->wf.jobs[i].n_needs;
	g->adj = xcalloc(total + 1, sizeof(*g->adj));
	g->off = xcalloc(p->wf.n_jobs + 1, sizeof(*g->off));
	total = 0;
	for (i = 0; i < p->wf.n_jobs; i++) {
		g->off[i] = total;
		for (k = 0; k < p->wf.jobs[i].n_needs; k++)
			g->adj[total++] = job_index(p, p->wf.jobs[i].needs[k]);
	}
	g->off[p->wf.n_jobs] = total;
}

static void graph_release(struct graph *g)
{
	free(g->adj);
	free(g->off);
}

static void report_cycle(const struct wf_priv *p, const size_t *stack,
			 size_t from, size_t depth, struct wf_diags *d)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "needs cycle: ");
	for (i = from; i < depth; i++)
		buf_printf(&b, "%s -> ", p->wf.jobs[stack[i]].id);
	buf_adds(&b, p->wf.jobs[stack[from]].id);
	wf_diag_add(d, &p->wf.jobs[stack[from]].pos, "%s", b.ptr);
	buf_release(&b);
}

/* Depth-first search in file order; a need that leads back to a job on
 * the current path closes a cycle, reported at the job it starts from. */
static void check_cycles(const struct wf_priv *p, const struct graph *g,
			 struct wf_diags *d)
{
	size_t n = p->wf.n_jobs, s, depth;
	unsigned char *color = xcalloc(n + 1, 1);
	size_t *stack = xcalloc(n + 1, sizeof(*stack));
	size_t *next = xcalloc(n + 1, sizeof(*next));
	size_t *at = xcalloc(n + 1, sizeof(*at));

	for (s = 0; s < n; s++) {
		if (color[s])
			continue;
		depth = 0;
		stack[depth] = s;
		at[s] = depth++;
		color[s] = 1;
		next[s] = g->off[s];
		while (depth > 0) {
			size_t u = stack[depth - 1];
			long w;

			if (next[u] == g->off[u + 1]) {
				color[u] = 2;
				depth--;
				continue;
			}
			w = g->adj[next[u]++];
			if (w < 0 || color[w] == 2)
				continue;
			if (color[w] == 1) {
				report_cycle(p, stack, at[w], depth, d);
				continue;
			}
			color[w] = 1;
			next[w] = g->off[w];
			at[w] = depth;
			stack[depth++] = (size_t)w;
		}
	}
	free(color);
	free(stack);
	free(next);
	free(at);
}

static void check_needs(const struct wf_priv *p, struct wf_diags *d)
{
	struct graph g;
	size_t i, k;

	graph_build(&g, p);
	for (i = 0; i < p->wf.n_jobs; i++) {
		const struct wf_job *j = &p->wf.jobs[i];
		const struct yml_node *needs = yml_get(j->node, "needs");

		for (k = 0; k < j->n_needs; k++)
			if (g.adj[g.off[i] + k] < 0)
				wf_diag_add(d, &need_node(needs, k)->pos,
					    "job '%s' needs '%s', which does "
					    "not exist", j->id, j->needs[k]);
	}
	check_cycles(p, &g, d);
	graph_release(&g);
}

/* Kahn's algorithm with a min-heap of ready jobs, so that among jobs
 * that are ready together the first in the file comes first. */
void wf_job_order(const struct workflow *wf, size_t *order)
{
	const struct wf_priv *p = priv(wf);
	size_t n = wf->n_jobs, *indeg, *heap, nh = 0, no = 0, i, k;
	size_t *users, *uoff;
	struct graph g;

	graph_build(&g, p);
	indeg = xcalloc(n + 1, sizeof(*indeg));
	uoff = xcalloc(n + 2, sizeof(*uoff));
	users = xcalloc(g.off[n] + 1, sizeof(*users));
	heap = xcalloc(n + 1, sizeof(*heap));
	/* users[uoff[j] ..]: the jobs that need job j (reverse edges). */
	for (i = 0; i < g.off[n]; i++)
		if (g.adj[i] >= 0)
			uoff[g.adj[i] + 2]++;
	for (i = 0; i < n; i++)
		uoff[i + 2] += uoff[i + 1];
	for (i = 0; i < n; i++) {
		for (k = g.off[i]; k < g.off[i + 1]; k++) {
			if (g.adj[k] < 0)
				continue;
			users[uoff[g.adj[k] + 1]++] = i;
			indeg[i]++;
		}
	}
	for (i = 0; i < n; i++) {
		if (indeg[i])
			continue;
		heap[nh++] = i;	/* ascending already: a valid heap */
	}
	while (nh > 0) {
		size_t u = heap[0], c = 0;

		order[no++] = u;
		heap[0] = heap[--nh];
		for (;;) {	/* sift down: at most log2(n) rounds */
			size_t l = 2 * c + 1, m = c, t;

			if (l < nh && heap[l] < heap[m])
				m = l;
			if (l + 1 < nh && heap[l + 1] < heap[m])
				m = l + 1;
			if (m == c)
				break;
			t = heap[c];
			heap[c] = heap[m];
			heap[m] = t;
			c = m;
		}
		for (k = uoff[u]; k < uoff[u + 1]; k++) {
			size_t w = users[k];

			if (--indeg[w] == 0) {
				c = nh++;
				heap[c] = w;
				while (c > 0 && heap[(c - 1) / 2] > heap[c]) {
					size_t t = heap[c];

					heap[c] = heap[(c - 1) / 2];
					heap[(c - 1) / 2] = t;
					c = (c - 1) / 2;
				}
			}
		}
	}
	/* Only a workflow with a cycle (never a loaded one) gets here. */
	for (i = 0; no < n && i < n; i++)
		if (indeg[i])
			order[no++] = i;
	free(indeg);
	free(uoff);
	free(users);
	free(heap);
	graph_release(&g);
}

/* ---- loading ---- */

static void build_lines(struct wfv_src *src, const char *data, size_t len)
{
	size_t i, n = 1, alloc = 0;

	src->data = data;
	src->len = len;
	src->line_off = NULL;
	ALLOC_GROW(src->line_off, 1, alloc);
	src->line_off[0] = 0;
	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		ALLOC_GROW(src->line_off, n + 1, alloc);
		src->line_off[n++] = i + 1;
	}
	src->n_lines = n;
}

int wf_load_mem(struct workflow **out, const char *name, const char *data,
		size_t len, const struct wf_load_opts *opts,
		struct wf_diags *diags, struct err *e)
{
	struct wf_priv *p = NULL;
	struct yml_doc *doc = NULL;
	struct err ye = ERR_INIT;
	struct wfv_src src = { NULL, 0, NULL, 0 };
	size_t first = diags->n, i;
	char *dir = NULL;
	int ret = -1;

	*out = NULL;
	if (yml_load_mem(&doc, name, data, len, opts ? opts->limits : NULL,
			 &ye)) {
		yaml_diag(diags, name, ye.msg);
		err_set(e, ye.code, "%s", ye.msg);
		goto done;
	}
	if (!doc->root || yml_is_null(doc->root)) {
		struct yml_pos pos = { name, 1, 1 };

		wf_diag_add(diags, &pos, "workflow is empty");
	} else if (doc->root->kind != YML_MAP) {
		wf_diag_add(diags, &doc->root->pos, "workflow must be a "
			    "mapping (on:, jobs: ...), not a %s",
			    yml_kind_name(doc->root));
	} else {
		p = xcalloc(1, sizeof(*p));
		p->wf.doc = doc;
		doc = NULL;
		p->wf.path = xstrdup(name);
		build(p);
		build_lines(&src, data, len);
		dir = fs_dirname(name);
		wfv_check(&p->wf, opts, &src, dir, diags);
		check_needs(p, diags);
	}
	if (diags->n > first) {
		for (i = first; i < diags->n; i++)
			diags->v[i].pos.file = name;
		err_set(e, ERR_INVALID, "%s: %zu error%s in the workflow", name,
			diags->n - first, diags->n - first == 1 ? "" : "s");
		goto done;
	}
	*out = &p->wf;
	p = NULL;
	ret = 0;
done:
	wf_free(p ? &p->wf : NULL);
	yml_doc_free(doc);
	free(src.line_off);
	free(dir);
	return ret;
}

int wf_load(struct workflow **out, const char *path,
	    const struct wf_load_opts *opts, struct wf_diags *diags,
	    struct err *e)
{
	const struct yml_limits *lim = opts ? opts->limits : NULL;
	size_t max = lim && lim->max_bytes ? lim->max_bytes :
		WF_DEFAULT_MAX_BYTES;
	struct buf b;
	int ret;

	*out = NULL;
	/* One byte over the cap reaches yml, which words the limit error. */
	buf_init(&b, max + 1);
	if (fs_read_file(&b, path, e)) {
		struct yml_pos pos = { path, 0, 0 };

		wf_diag_add(diags, &pos, "%s", e->msg);
		buf_release(&b);
		return -1;
	}
	ret = wf_load_mem(out, path, b.ptr, b.len, opts, diags, e);
	buf_release(&b);
	return ret;
}

void wf_free(struct workflow *wf)
{
	size_t i, k;

	if (!wf)
		return;
	for (i = 0; i < wf->n_jobs; i++) {
		struct wf_job *j = &wf->jobs[i];

		free(j->id);
		for (k = 0; k < j->n_needs; k++)
			free(j->needs[k]);
		free(j->needs);
		for (k = 0; k < j->n_steps; k++)
			free(j->steps[k].id);
		free(j->steps);
	}
	free(wf->jobs);
	for (i = 0; i < wf->n_triggers; i++)
		free(wf->triggers[i].event);
	free(wf->triggers);
	for (i = 0; i < wf->n_dispatch_inputs; i++)
		free(wf->dispatch_inputs[i].name);
	free(wf->dispatch_inputs);
	for (i = 0; i < wf->n_call_inputs; i++)
		free(wf->call_inputs[i].name);
	free(wf->call_inputs);
	yml_doc_free(wf->doc);
	free(wf->path);
	free(priv(wf)->by_id);
	free(priv(wf));
}

const struct wf_job *wf_find_job(const struct workflow *wf, const char *id)
{
	long i;

	if (!wf || !id)
		return NULL;
	i = job_index(priv(wf), id);
	return i < 0 ? NULL : &wf->jobs[i];
}

const struct wf_trigger *wf_find_trigger(const struct workflow *wf,
					 const char *event)
{
	size_t i;

	for (i = 0; wf && event && i < wf->n_triggers; i++)
		if (!strcmp(wf->triggers[i].event, event))
			return &wf->triggers[i];
	return NULL;
}
