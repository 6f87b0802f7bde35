/*
 * libFuzzer target: what a step writes back, which gantry parses with its
 * own rights: a command file (GITHUB_ENV / GITHUB_OUTPUT with NAME=value
 * and NAME<<DELIMITER blocks, GITHUB_PATH lines) and every line of output
 * as a workflow command (::name k=v,k=v::message with escapes).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/filecmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_t *obj = json_object();
	struct strv paths = STRV_INIT;
	struct err e = ERR_INIT;
	size_t start = 0;

	filecmd_parse_kv(obj, text, size, "GITHUB_ENV", &e);
	filecmd_parse_path(&paths, text, size);
	for (size_t i = 0; i <= size; i++) {
		if (i == size || text[i] == '\n') {
			struct wfcmd c;

			if (wfcmd_parse(&c, text + start, i - start))
				wfcmd_release(&c);
			start = i + 1;
		}
	}
	strv_release(&paths);
	json_decref(obj);
	return 0;
}
