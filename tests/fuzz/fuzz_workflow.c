/*
 * libFuzzer target: a whole workflow file through wf_load (YAML, the
 * schema checks, every expression's syntax and contexts), then the job
 * order and each job's matrix as the executor would expand it. Workflow
 * files come from repositories gantry does not control.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "workflows/matrix.h"
#include "workflows/workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yml_limits lim = { 1 << 20, 64, 100000 };
	struct wf_load_opts o = { NULL, NULL, &lim };
	struct wf_diags d = WF_DIAGS_INIT;
	struct workflow *wf = NULL;
	struct err e = ERR_INIT;

	if (wf_load_mem(&wf, "fuzz.yml", (const char *)data, size, &o, &d, &e) == 0) {
		size_t *order = calloc(wf->n_jobs ? wf->n_jobs : 1, sizeof(*order));

		wf_job_order(wf, order);
		free(order);
		for (size_t i = 0; i < wf->n_jobs; i++) {
			json_t *m, *out = NULL;

			if (!wf->jobs[i].matrix || wf->jobs[i].matrix->kind != YML_MAP)
				continue;
			m = yml_to_json(wf->jobs[i].matrix);
			if (m && matrix_expand(&out, m, &e) == 0) {
				for (size_t k = 0; k < json_array_size(out); k++)
					free(matrix_label(json_array_get(out, k)));
			}
			json_decref(out);
			json_decref(m);
		}
	}
	wf_free(wf);
	wf_diags_release(&d);
	return 0;
}
