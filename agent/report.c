/*
 * report: what `gantry run` shows and writes about a run besides the live
 * output: the job list and needs graph (-l, --graph), the closing table
 * with the step summaries, the JSON summary (masked value by value), and
 * the paths no job sandbox may see.
 */
#include "report.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_list_jobs(const struct workflow *wf, bool graph)
{
	size_t n = wf->n_jobs;
	size_t *order = xcalloc(n ? n : 1, sizeof(*order));
	int *stage = xcalloc(n ? n : 1, sizeof(*stage));
	int max_stage = 0;

	wf_job_order(wf, order);
	for (size_t oi = 0; oi < n; oi++) {
		const struct wf_job *j = &wf->jobs[order[oi]];
		int s = 0;

		for (size_t k = 0; k < j->n_needs; k++)
			for (size_t m = 0; m < n; m++)
				if (!strcmp(wf->jobs[m].id, j->needs[k]) && stage[m] + 1 > s)
					s = stage[m] + 1;
		stage[order[oi]] = s;
		if (s > max_stage)
			max_stage = s;
	}
	if (!graph) {
		printf("%-6s %-24s %-32s %s\n", "Stage", "Job ID", "Job name", "Workflow");
		for (int s = 0; s <= max_stage; s++)
			for (size_t i = 0; i < n; i++) {
				const struct wf_job *j = &wf->jobs[i];

				if (stage[i] != s)
					continue;
				printf("%-6d %-24s %-32s %s\n", s, j->id,
				       j->name && j->name->kind == YML_SCALAR ? j->name->str : j->id,
				       wf->path);
			}
	} else {
		printf("%s\n", wf->path);
		for (int s = 0; s <= max_stage; s++) {
			if (s)
				printf("   |\n   v\n");
			for (size_t i = 0; i < n; i++) {
				const struct wf_job *j = &wf->jobs[i];

				if (stage[i] != s)
					continue;
				printf(" [%s]", j->id);
				if (j->n_needs) {
					printf(" <- ");
					for (size_t k = 0; k < j->n_needs; k++)
						printf("%s%s", k ? ", " : "", j->needs[k]);
				}
				printf("\n");
			}
		}
	}
	free(order);
	free(stage);
}

void report_closing_table(struct out *o, json_t *summary)
{
	json_t *jobs = json_object_get(summary, "jobs"), *j;
	size_t i;

	out_printf(o, OUT_INFO, NULL, "\n%-40s %-10s %s", "Job", "Result", "Duration");
	json_array_foreach(jobs, i, j) {
		const char *res = jsonx_str(j, "result");
		json_t *d = json_object_get(j, "duration_ms");
		enum out_kind k = !strcmp(res, "success") ? OUT_OK :
				  !strcmp(res, "failure") ? OUT_FAIL :
				  !strcmp(res, "skipped") ? OUT_DIM : OUT_WARN;
		char dur[32] = "-";

		if (json_is_integer(d))
			snprintf(dur, sizeof(dur), "%.1fs", (double)json_integer_value(d) / 1000);
		out_printf(o, k, NULL, "%-40s %-10s %s", jsonx_str(j, "name"), res, dur);
	}
	json_array_foreach(jobs, i, j) {
		const char *sum = jsonx_str(j, "summary");

		if (sum) {
			out_printf(o, OUT_INFO, NULL, "\nSummary of %s:", jsonx_str(j, "name"));
			out_line(o, OUT_PLAIN, NULL, sum);
		}
	}
}

/* A hidden path, and where it really is when a link is on the way: the
 * sandbox mounts its covers inside the new root, where an absolute link
 * in the path would lead elsewhere. */
static void push_hidden_owned(struct strv *out, char *p)
{
	char *real = fs_realpath(p);

	if (real && strcmp(real, p))
		strv_push_owned(out, real);
	else
		free(real);
	strv_push_owned(out, p);
}

static void push_hidden(struct strv *out, const char *p)
{
	push_hidden_owned(out, xstrdup(p));
}

void report_hide_path(struct strv *out, const char *path)
{
	push_hidden(out, path);
}

/* What no job may see: gantry's state and configuration, keys and
 * credentials in the home folder, the host's password hashes. */
void report_hidden_paths(struct strv *out, const char *temp_root)
{
	static const char *const etc[] = {
		"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
		"/etc/sudoers", "/etc/sudoers.d", "/etc/ssl/private",
	};
	static const char *const home[] = {
		".local/share/gantry", ".config/gantry", ".ssh", ".gnupg", ".aws",
		".docker", ".kube", ".netrc", ".git-credentials", ".pgpass",
	};
	const char *h = getenv("HOME");
	const char *xdg_data = getenv("XDG_DATA_HOME"), *xdg_cfg = getenv("XDG_CONFIG_HOME");
	DIR *d;
	struct dirent *de;

	for (size_t i = 0; i < ARRAY_SIZE(etc); i++)
		push_hidden(out, etc[i]);
	for (size_t i = 0; h && *h == '/' && i < ARRAY_SIZE(home); i++)
		push_hidden_owned(out, xasprintf("%s/%s", h, home[i]));
	if (xdg_data && *xdg_data == '/')
		push_hidden_owned(out, xasprintf("%s/gantry", xdg_data));
	if (xdg_cfg && *xdg_cfg == '/')
		push_hidden_owned(out, xasprintf("%s/gantry", xdg_cfg));
	/* the host's SSH keys, but not the client configuration */
	d = opendir("/etc/ssh");
	while (d && (de = readdir(d)))
		if (str_ends_with(de->d_name, "_key"))
			push_hidden_owned(out, xasprintf("/etc/ssh/%s", de->d_name));
	if (d)
		closedir(d);
	/* the run's folder (other jobs); under /tmp or /dev the sandbox's own
	 * /tmp and /dev cover it */
	if (temp_root && strncmp(temp_root, "/tmp/", 5) && strncmp(temp_root, "/dev/", 5))
		push_hidden(out, temp_root);
}

/* A copy of v with every string (keys too) masked: masking the JSON text
 * instead would miss a secret that JSON escapes (a quote, a backslash, a
 * tab). New reference. */
static json_t *mask_json(const json_t *v, struct mask *m)
{
	if (json_is_string(v)) {
		char *s = mask_apply(m, json_string_value(v), json_string_length(v), NULL);
		json_t *r = json_string(s);

		free(s);
		return r ? r : json_string("***");
	}
	if (json_is_array(v)) {
		json_t *a = json_array(), *x;
		size_t i;

		json_array_foreach(v, i, x)
			json_array_append_new(a, mask_json(x, m));
		return a;
	}
	if (json_is_object(v)) {
		json_t *o = json_object(), *x;
		const char *k;

		json_object_foreach((json_t *)v, k, x) {
			char *mk = mask_str(m, k);

			json_object_set_new(o, mk, mask_json(x, m));
			free(mk);
		}
		return o;
	}
	return json_incref((json_t *)v);
}

int report_write_summary(const char *path, json_t *summary, struct mask *m,
			 struct err *e)
{
	json_t *masked = mask_json(summary, m);
	char *text = jsonx_dump(masked, 1);
	struct buf b = BUF_INIT;
	int r;

	buf_adds(&b, text);
	buf_addch(&b, '\n');
	r = fs_write_file(path, b.ptr, b.len, 0644, e);
	buf_release(&b);
	free(text);
	json_decref(masked);
	return r;
}
