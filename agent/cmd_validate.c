/*
 * gantry validate: load every workflow file named (or those of
 * .github/workflows) and print every problem with file:line:col.
 */
#include "cli.h"
#include "../lib/fs.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "../steps/step.h"
#include "../workflows/workflow.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char validate_usage[] =
"usage: gantry validate [-C DIR] [PATH...]\n"
"\n"
"Check workflow files (default: .github/workflows/*.yml) and print every\n"
"error as file:line:col: message. Exit 0 when all are valid, 2 otherwise.\n"
"\n"
"  -C DIR   the repository root, for local actions (default: the current folder)\n"
"  -q       print nothing when valid\n";

static void add_path(struct strv *files, const char *p, bool *missing)
{
	DIR *d;
	struct dirent *de;
	size_t first = files->n;

	if (!fs_is_dir(p)) {
		if (!fs_exists(p)) {
			fprintf(stderr, "%s: error: no such file or folder\n", p);
			*missing = true;
			return;
		}
		strv_push(files, p);
		return;
	}
	d = opendir(p);
	if (!d) {
		fprintf(stderr, "%s: error: cannot read the folder\n", p);
		*missing = true;
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (str_ends_with(de->d_name, ".yml") ||
					     str_ends_with(de->d_name, ".yaml")))
			strv_push_owned(files, fs_join(p, de->d_name));
	closedir(d);
	strv_sort(files, first);
}

int cmd_validate(int argc, char **argv)
{
	struct strv files = STRV_INIT;
	const char *dir = ".";
	bool quiet = false, bad = false;
	char *root;
	size_t n_err = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(validate_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "-C") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "-q")) {
			quiet = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "gantry validate: unknown option '%s'\n%s", argv[i],
				validate_usage);
			return 2;
		} else {
			add_path(&files, argv[i], &bad);
		}
	}
	root = fs_realpath(dir);
	if (!root) {
		fprintf(stderr, "gantry validate: -C %s: no such folder\n", dir);
		strv_release(&files);
		return 2;
	}
	if (!files.n && !bad) {
		char *def = fs_join(root, ".github/workflows");

		add_path(&files, def, &bad);
		free(def);
	}
	for (size_t k = 0; k < files.n; k++) {
		struct wf_load_opts lo = { steps_check_uses, root, NULL };
		struct wf_diags d = WF_DIAGS_INIT;
		struct workflow *wf = NULL;
		struct err e = ERR_INIT;

		if (wf_load(&wf, files.v[k], &lo, &d, &e) < 0) {
			bad = true;
			if (d.n)
				wf_diags_print(&d, stdout);
			else
				printf("%s: error: %s\n", files.v[k], e.msg);
			n_err += d.n ? d.n : 1;
		} else if (!quiet) {
			printf("%s: ok (%zu job%s)\n", files.v[k], wf->n_jobs,
			       wf->n_jobs == 1 ? "" : "s");
		}
		wf_free(wf);
		wf_diags_release(&d);
	}
	if (bad && n_err)
		fprintf(stderr, "%zu error%s\n", n_err, n_err == 1 ? "" : "s");
	strv_release(&files);
	free(root);
	return bad ? 2 : 0;
}
