/*
 * gantry cache: the git mirror cache that actions/checkout fills.
 *   gantry cache gc [--cache-dir DIR] [--max-age AGE]
 * removes the mirrors no checkout has used for AGE (default 30d).
 */
#include "cli.h"
#include "../lib/fs.h"
#include "../lib/git.h"
#include "../lib/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char cache_usage[] =
"usage: gantry cache gc [--cache-dir DIR] [--max-age AGE]\n"
"\n"
"Remove the git mirrors that no checkout has used for AGE: a number with\n"
"s, m, h or d (default 30d). The cache is ~/.cache/gantry/git unless\n"
"--cache-dir (or XDG_CACHE_HOME) says otherwise. Mirrors in use are kept.\n";

/* 90s, 15m, 12h, 30d; a bare number is seconds. */
static int parse_age(const char *s, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	long long mul = 1;

	if (end == s || v < 0)
		return -1;
	if (*end == 's')
		end++;
	else if (*end == 'm' && ++end)
		mul = 60;
	else if (*end == 'h' && ++end)
		mul = 3600;
	else if (*end == 'd' && ++end)
		mul = 86400;
	if (*end || v > (1LL << 40))
		return -1;
	*out = v * mul;
	return 0;
}

int cmd_cache(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	long long age = 30LL * 86400;
	struct err e = ERR_INIT;
	size_t removed = 0, kept = 0;
	char *path = NULL;
	int c, ret = 2;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(cache_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "gc")) {
		fprintf(stderr, "gantry cache: unknown action '%s'\n%s", argv[1], cache_usage);
		return 2;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'a':
			if (parse_age(optarg, &age) < 0) {
				fprintf(stderr, "gantry cache gc: --max-age %s: expected a number "
					"with s, m, h or d, such as 30d\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(cache_usage, stdout);
			return 0;
		default:
			fputs(cache_usage, stderr);
			return 2;
		}
	}
	path = dir ? xstrdup(dir) : fs_user_cache_dir("git");
	if (!path) {
		fprintf(stderr, "gantry cache gc: no cache folder: pass --cache-dir\n");
		return 2;
	}
	if (!fs_is_dir(path)) {
		printf("%s: no cache, nothing to remove\n", path);
		ret = 0;
		goto done;
	}
	if (gitx_init(&e) < 0 || gitx_cache_gc(path, age, &removed, &kept, &e) < 0) {
		fprintf(stderr, "gantry cache gc: %s\n", e.msg);
		ret = 1;
		goto done;
	}
	printf("%s: removed %zu mirror%s, kept %zu\n", path, removed, removed == 1 ? "" : "s",
	       kept);
	ret = 0;
done:
	free(path);
	return ret;
}
