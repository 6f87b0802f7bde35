/*
 * report: the job list and graph, the closing table, the JSON summary and
 * the hidden paths of `gantry run` (agent/report.c).
 */
#ifndef GANTRY_REPORT_H
#define GANTRY_REPORT_H

#include <stdbool.h>
#include <jansson.h>

#include "../lib/err.h"
#include "../lib/mask.h"
#include "../lib/strv.h"
#include "../workflows/workflow.h"
#include "output.h"

/* -l: a table of stages and jobs; --graph: the needs graph. */
void report_list_jobs(const struct workflow *wf, bool graph);
/* The closing table of jobs, results and durations, then each job's step
 * summary, through o (masked). */
void report_closing_table(struct out *o, json_t *summary);
/* --json-summary: summary written to path with every string masked. */
int report_write_summary(const char *path, json_t *summary, struct mask *m,
			 struct err *e);
/* The paths no job may see (and where they really are, past links);
 * temp_root is the run's folder. */
void report_hidden_paths(struct strv *out, const char *temp_root);
/* One more path to hide (--hide), and where it really is. */
void report_hide_path(struct strv *out, const char *path);

#endif
