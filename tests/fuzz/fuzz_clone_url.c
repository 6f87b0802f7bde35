/*
 * Fuzz target for agent/queue.c's queue_clone_url_norm, which reads clone
 * URLs that API callers choose (POST /runs) before the git token may go
 * with them: the input is one URL (up to its first NUL). A result must be
 * "scheme://host[:port]/path" with a non-empty lower-case scheme and host,
 * no userinfo, no query or fragment, and no trailing "/"; a URL with '?'
 * or '#' anywhere gives none.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/queue.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = xstrndup((const char *)data, size);
	char *n = queue_clone_url_norm(url);
	const char *host, *end;

	if (n) {
		if (strpbrk(url, "?#") || strpbrk(n, "?#"))
			abort();
		host = strstr(n, "://");
		if (!host || host == n)
			abort();
		for (const char *p = n; p < host; p++)
			if (isupper((unsigned char)*p))
				abort();
		host += 3;
		end = host + strcspn(host, "/");
		if (end == host || memchr(host, '@', (size_t)(end - host)))
			abort();
		if (n[strlen(n) - 1] == '/')
			abort();
		free(n);
	}
	free(url);
	return 0;
}
