/*
 * gantry aws s3 sync|cp|ls|rm: the AWS CLI's commands, flags and output
 * lines ("upload: dist/a.js to s3://b/a.js"), on lib/aws/s3sync.c.
 * Exit status as the AWS CLI's s3 commands: 0 done, 1 a transfer failed,
 * 2 files were skipped (unreadable, links that lead nowhere), 252 usage,
 * 253 configuration, 254 an error from S3.
 */
#include "aws_cli.h"
#include "../lib/aws/s3.h"
#include "../lib/aws/s3filter.h"
#include "../lib/aws/s3sync.h"
#include "../lib/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { O_DELETE = 256, O_EXCLUDE, O_INCLUDE, O_SIZE_ONLY, O_EXACT,
       O_DRYRUN, O_CACHE, O_TYPE, O_ENCODING, O_DISPOSITION, O_METADATA,
       O_ACL, O_STORAGE, O_NO_GUESS, O_FOLLOW, O_NO_FOLLOW, O_QUIET,
       O_CHECKSUM, O_ALLOW_EMPTY, O_RECURSIVE, O_HUMAN, O_SUMMARIZE,
       O_CONCURRENCY, O_NO_PROGRESS, O_ONLY_ERRORS, O_SSE, O_SSE_KMS };

static const struct option s3_opts[] = {
	{ "delete", no_argument, NULL, O_DELETE },
	{ "exclude", required_argument, NULL, O_EXCLUDE },
	{ "include", required_argument, NULL, O_INCLUDE },
	{ "size-only", no_argument, NULL, O_SIZE_ONLY },
	{ "exact-timestamps", no_argument, NULL, O_EXACT },
	{ "dryrun", no_argument, NULL, O_DRYRUN },
	{ "cache-control", required_argument, NULL, O_CACHE },
	{ "content-type", required_argument, NULL, O_TYPE },
	{ "content-encoding", required_argument, NULL, O_ENCODING },
	{ "content-disposition", required_argument, NULL, O_DISPOSITION },
	{ "metadata", required_argument, NULL, O_METADATA },
	{ "acl", required_argument, NULL, O_ACL },
	{ "storage-class", required_argument, NULL, O_STORAGE },
	{ "no-guess-mime-type", no_argument, NULL, O_NO_GUESS },
	{ "follow-symlinks", no_argument, NULL, O_FOLLOW },
	{ "no-follow-symlinks", no_argument, NULL, O_NO_FOLLOW },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "checksum", no_argument, NULL, O_CHECKSUM },
	{ "allow-empty-source", no_argument, NULL, O_ALLOW_EMPTY },
	{ "recursive", no_argument, NULL, O_RECURSIVE },
	{ "human-readable", no_argument, NULL, O_HUMAN },
	{ "summarize", no_argument, NULL, O_SUMMARIZE },
	{ "concurrency", required_argument, NULL, O_CONCURRENCY },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "only-show-errors", no_argument, NULL, O_ONLY_ERRORS },
	{ "sse", optional_argument, NULL, O_SSE },
	{ "sse-kms-key-id", required_argument, NULL, O_SSE_KMS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct s3args {
	struct s3sync_opts so;
	struct s3filter *filter;
	struct strv meta;
	const char *operand[2];
	int n_operand;
	bool human, summarize, no_progress;
};

static const char s3_usage[] =
"usage: gantry aws s3 sync SRC DST [options]\n"
"       gantry aws s3 cp SRC DST [--recursive] [options]\n"
"       gantry aws s3 ls [s3://BUCKET[/PREFIX]] [--recursive] [--human-readable]\n"
"                        [--summarize]\n"
"       gantry aws s3 rm s3://BUCKET/KEY | s3://BUCKET/PREFIX --recursive\n"
"SRC and DST: a local folder or file, or s3://BUCKET[/PREFIX].\n"
"Options, as the AWS CLI's: --delete --exclude P --include P --size-only\n"
"  --exact-timestamps --dryrun --quiet --cache-control V --content-type V\n"
"  --content-encoding V --content-disposition V --metadata K=V[,K=V]\n"
"  --acl V --storage-class V --no-guess-mime-type --follow-symlinks\n"
"  --no-follow-symlinks --only-show-errors --no-progress\n"
"  --sse [AES256|aws:kms] --sse-kms-key-id ID\n"
"gantry's own: --checksum (compare content, not times: an identical\n"
"  rebuild uploads nothing), --allow-empty-source (let --delete empty the\n"
"  destination), --concurrency N (transfers at once, default 64), and\n"
"  the global --output json (the plan and the result).\n"
"Deletions happen only after every transfer succeeded, and never after a\n"
"listing that failed.\n";

static int parse(struct s3args *a, const char *cmd, int argc, char **argv)
{
	char **av = xcalloc((size_t)argc + 2, sizeof(*av));
	struct err e = ERR_INIT;
	int c, rc = -1;
	long n;

	memset(a, 0, sizeof(*a));
	a->so.follow_symlinks = true;
	s3filter_new(&a->filter);
	av[0] = (char *)cmd;
	for (int i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc + 1, av, "-h", s3_opts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (a->n_operand == 2) {
				fprintf(stderr, "gantry aws s3 %s: unexpected argument "
					"'%s'\n", cmd, optarg);
				goto done;
			}
			a->operand[a->n_operand++] = optarg;
			break;
		case O_DELETE: a->so.delete_ = true; break;
		case O_EXCLUDE:
		case O_INCLUDE:
			if (s3filter_add(a->filter, c == O_INCLUDE, optarg, &e) < 0) {
				fprintf(stderr, "gantry aws s3 %s: --%s %s: %s\n", cmd,
					c == O_INCLUDE ? "include" : "exclude", optarg,
					e.msg);
				goto done;
			}
			break;
		case O_SIZE_ONLY: a->so.size_only = true; break;
		case O_EXACT: a->so.exact_timestamps = true; break;
		case O_DRYRUN: a->so.dryrun = true; break;
		case O_CACHE: a->so.cache_control = optarg; break;
		case O_TYPE: a->so.content_type = optarg; break;
		case O_ENCODING: a->so.content_encoding = optarg; break;
		case O_DISPOSITION: a->so.content_disposition = optarg; break;
		case O_METADATA:
			/* KeyName1=string,KeyName2=string */
			for (char *kv = optarg, *end; kv && *kv; kv = end ? end + 1 : NULL) {
				end = strchr(kv, ',');
				strv_push_owned(&a->meta, end ? xstrndup(kv, (size_t)(end - kv)) :
						xstrdup(kv));
				if (!strchr(a->meta.v[a->meta.n - 1], '=')) {
					fprintf(stderr, "gantry aws s3 %s: --metadata: "
						"expected KEY=VALUE[,KEY=VALUE]\n", cmd);
					goto done;
				}
			}
			break;
		case O_ACL: a->so.acl = optarg; break;
		case O_STORAGE: a->so.storage_class = optarg; break;
		case O_NO_GUESS: a->so.no_guess_mime = true; break;
		case O_FOLLOW: a->so.follow_symlinks = true; break;
		case O_NO_FOLLOW: a->so.follow_symlinks = false; break;
		case O_QUIET:
		case O_ONLY_ERRORS: a->so.quiet = true; break;
		case O_SSE:
			/* --sse alone means AES256, as the CLI */
			a->so.sse = optarg ? optarg : "AES256";
			if (strcmp(a->so.sse, "AES256") && strcmp(a->so.sse, "aws:kms")) {
				fprintf(stderr, "gantry aws s3 %s: --sse %s: AES256 or "
					"aws:kms\n", cmd, a->so.sse);
				goto done;
			}
			break;
		case O_SSE_KMS: a->so.sse_kms_key_id = optarg; break;
		case O_CHECKSUM: a->so.checksum = true; break;
		case O_ALLOW_EMPTY: a->so.allow_empty_source = true; break;
		case O_RECURSIVE: a->so.recursive = true; break;
		case O_HUMAN: a->human = true; break;
		case O_SUMMARIZE: a->summarize = true; break;
		case O_NO_PROGRESS: a->no_progress = true; break;
		case O_CONCURRENCY:
			if (str_to_long(optarg, &n) < 0 || n < 1 || n > 256) {
				fprintf(stderr, "gantry aws s3 %s: --concurrency %s: "
					"1 to 256\n", cmd, optarg);
				goto done;
			}
			a->so.concurrency = (int)n;
			break;
		case 'h':
			fputs(s3_usage, stdout);
			rc = 1;
			goto done;
		default:
			fputs(s3_usage, stderr);
			goto done;
		}
	}
	a->so.filter = a->filter;
	a->so.metadata = &a->meta;
	rc = 0;
done:
	free(av);
	return rc;
}

static void args_release(struct s3args *a)
{
	s3filter_free(a->filter);
	strv_release(&a->meta);
}

static void say_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

static void human(char *out, size_t n, long long bytes)
{
	static const char *const unit[] = { "Bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* On a terminal: files, bytes, rate and time left on one line. */
static void progress(void *arg, long done, long total, long long bytes,
		     long long total_bytes, double secs)
{
	char b1[32], b2[32], r[32];
	double rate = secs > 0 ? (double)bytes / secs : 0;
	double left = rate > 0 ? (double)(total_bytes - bytes) / rate : 0;

	(void)arg;
	human(b1, sizeof(b1), bytes);
	human(b2, sizeof(b2), total_bytes);
	human(r, sizeof(r), (long long)rate);
	fprintf(stderr, "\rCompleted %ld of %ld files, %s of %s (%s/s), %.0f s "
		"left   ", done, total, b1, b2, r, left);
	if (done == total)
		fprintf(stderr, "\r%*s\r", 78, "");
	fflush(stderr);
}

static void summary(const struct aws_cli *g, const struct s3args *a,
		    const struct s3sync_result *r, int rc)
{
	char b[32];

	if (g->output && !strcmp(g->output, "json")) {
		json_t *j = json_pack("{s:s,s:O,s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:f}}",
				      "result", rc == 0 ? "success" : "failure",
				      "plan", r->plan, "counts",
				      "uploaded", (int)r->uploaded,
				      "downloaded", (int)r->downloaded,
				      "copied", (int)r->copied,
				      "deleted", (int)r->deleted,
				      "unchanged", (int)r->unchanged,
				      "failed", (int)r->failed,
				      "skipped", (int)r->skipped,
				      "bytes", (json_int_t)r->bytes,
				      "seconds", r->seconds);

		aws_cli_print_json(j);
		json_decref(j);
		return;
	}
	if (a->so.quiet)
		return;
	human(b, sizeof(b), r->bytes);
	fprintf(stderr, "%s%ld uploaded, %ld downloaded, %ld copied, %ld deleted, "
		"%ld unchanged%s; %s in %.2f s\n", a->so.dryrun ? "(dryrun) " : "",
		r->uploaded, r->downloaded, r->copied, r->deleted, r->unchanged,
		r->failed ? ", some failed" : "", b, r->seconds);
}

static int transfer(const struct aws_cli *g, int argc, char **argv,
		    enum s3sync_mode mode, const char *cmd)
{
	struct s3args a;
	struct aws_client *c = NULL;
	struct aws_credp *cp = NULL;
	struct s3sync_result r = { 0 };
	struct err e = ERR_INIT;
	bool json = g->output && !strcmp(g->output, "json");
	int ret = EXIT_USAGE, p = parse(&a, cmd, argc, argv);

	if (p != 0) {
		ret = p > 0 ? 0 : EXIT_USAGE;
		goto done;
	}
	if (a.n_operand != 2) {
		fprintf(stderr, "gantry aws s3 %s: give a source and a "
			"destination\n%s", cmd, s3_usage);
		goto done;
	}
	a.so.mode = mode;
	a.so.src = a.operand[0];
	a.so.dst = a.operand[1];
	a.so.say = json ? NULL : say_line;
	a.so.progress = !json && !a.no_progress && !a.so.quiet &&
			isatty(STDERR_FILENO) ? progress : NULL;
	if (aws_cli_client(&c, &cp, g, &e) < 0) {
		fprintf(stderr, "gantry aws s3 %s: %s\n", cmd, e.msg);
		ret = aws_cli_exit(&e);
		goto done;
	}
	if (s3sync_run(&r, c, &a.so, &e) < 0) {
		summary(g, &a, &r, -1);
		fprintf(stderr, "gantry aws s3 %s: %s\n", cmd, e.msg);
		ret = r.failed ? 1 : aws_cli_exit(&e);
		goto done;
	}
	summary(g, &a, &r, 0);
	ret = r.skipped ? 2 : 0;
done:
	s3sync_result_release(&r);
	aws_client_free(c);
	aws_credp_free(cp);
	args_release(&a);
	return ret;
}

int aws_s3_sync_cmd(const struct aws_cli *g, int argc, char **argv)
{
	return transfer(g, argc, argv, S3SYNC_SYNC, "sync");
}

int aws_s3_cp_cmd(const struct aws_cli *g, int argc, char **argv)
{
	return transfer(g, argc, argv, S3SYNC_CP, "cp");
}

/* "2026-11-22 16:00:00       1234 key", local time, as the AWS CLI. */
static void ls_line(const struct s3args *a, const struct aws_s3_obj *o,
		    const char *shown)
{
	char ts[32], size[32];
	time_t t = (time_t)o->mtime;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	if (a->human)
		human(size, sizeof(size), o->size);
	else
		snprintf(size, sizeof(size), "%lld", o->size);
	printf("%s %10s %s\n", ts, size, shown);
}

int aws_s3_ls_cmd(const struct aws_cli *g, int argc, char **argv)
{
	struct s3args a;
	struct aws_client *c = NULL;
	struct aws_credp *cp = NULL;
	struct aws_s3_list l = { 0 };
	struct err e = ERR_INIT;
	char *bucket = NULL, *prefix = NULL, *lp = NULL;
	long long total = 0;
	int ret = EXIT_USAGE, p = parse(&a, "ls", argc, argv);

	if (p != 0) {
		ret = p > 0 ? 0 : EXIT_USAGE;
		goto done;
	}
	if (a.n_operand == 0) {
		struct strv bk = STRV_INIT;

		if (aws_cli_client(&c, &cp, g, &e) < 0 ||
		    aws_s3_list_buckets(&bk, c, &e) < 0) {
			strv_release(&bk);
			goto fail;
		}
		for (size_t i = 0; i < bk.n; i++) {
			char *sp = strchr(bk.v[i], ' '), ts[32];
			time_t t = (time_t)strtoll(bk.v[i], NULL, 10);
			struct tm tm;

			localtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
			printf("%s %s\n", ts, sp ? sp + 1 : bk.v[i]);
		}
		strv_release(&bk);
		ret = 0;
		goto done;
	}
	if (a.n_operand != 1) {
		fprintf(stderr, "gantry aws s3 ls: give at most one "
			"s3://BUCKET[/PREFIX]\n");
		goto done;
	}
	if (aws_s3_url_parse(&bucket, &prefix, a.operand[0], &e) < 0 ||
	    aws_cli_client(&c, &cp, g, &e) < 0)
		goto fail;
	/* "s3://b/dir/" lists under dir/; "s3://b/di" lists keys starting
	 * with di, as the CLI */
	lp = *prefix && str_ends_with(a.operand[0], "/") ?
	     xasprintf("%s/", prefix) : xstrdup(prefix);
	if (aws_s3_list(&l, c, bucket, lp, &e) < 0)
		goto fail;
	{
		size_t base = strrchr(lp, '/') ? (size_t)(strrchr(lp, '/') - lp) + 1 : 0;

		/* as the CLI: the "folders" (PRE) first, then the objects */
		for (int pass = 0; pass < 2 && !a.so.recursive; pass++) {
			const char *last_pre = NULL;
			size_t last_n = 0;

			for (size_t i = 0; i < l.n; i++) {
				const char *rest = l.v[i].key + base;
				const char *slash = strchr(rest, '/');

				if (pass == 1 && !slash)
					ls_line(&a, &l.v[i], rest);
				if (pass == 1 || !slash)
					continue;
				if (!last_pre || last_n != (size_t)(slash - rest) + 1 ||
				    strncmp(last_pre, rest, last_n) != 0) {
					last_n = (size_t)(slash - rest) + 1;
					last_pre = rest;
					printf("%30s %.*s\n", "PRE", (int)last_n, rest);
				}
			}
		}
		for (size_t i = 0; i < l.n; i++) {
			total += l.v[i].size;
			if (a.so.recursive)
				ls_line(&a, &l.v[i], l.v[i].key);
		}
	}
	if (a.summarize) {
		char b[32];

		if (a.human)
			human(b, sizeof(b), total);
		else
			snprintf(b, sizeof(b), "%lld", total);
		printf("\nTotal Objects: %zu\n   Total Size: %s\n", l.n, b);
	}
	ret = 0;
	goto done;
fail:
	fprintf(stderr, "gantry aws s3 ls: %s\n", e.msg);
	ret = aws_cli_exit(&e);
done:
	aws_s3_list_release(&l);
	free(bucket);
	free(prefix);
	free(lp);
	aws_client_free(c);
	aws_credp_free(cp);
	args_release(&a);
	return ret;
}

int aws_s3_rm_cmd(const struct aws_cli *g, int argc, char **argv)
{
	struct s3args a;
	struct aws_client *c = NULL;
	struct aws_credp *cp = NULL;
	struct aws_s3_list l = { 0 };
	struct strv keys = STRV_INIT;
	struct err e = ERR_INIT;
	char *bucket = NULL, *prefix = NULL;
	size_t deleted = 0;
	int ret = EXIT_USAGE, p = parse(&a, "rm", argc, argv);

	if (p != 0) {
		ret = p > 0 ? 0 : EXIT_USAGE;
		goto done;
	}
	if (a.n_operand != 1) {
		fprintf(stderr, "gantry aws s3 rm: give s3://BUCKET/KEY\n");
		goto done;
	}
	if (aws_s3_url_parse(&bucket, &prefix, a.operand[0], &e) < 0 ||
	    aws_cli_client(&c, &cp, g, &e) < 0)
		goto fail;
	if (a.so.recursive) {
		char *lp = *prefix ? xasprintf("%s/", prefix) : xstrdup("");
		size_t pn = strlen(lp);
		int r = aws_s3_list(&l, c, bucket, lp, &e);

		free(lp);
		if (r < 0)
			goto fail;
		for (size_t i = 0; i < l.n; i++)
			if (s3filter_match(a.filter, l.v[i].key + pn))
				strv_push(&keys, l.v[i].key);
	} else {
		if (!*prefix) {
			fprintf(stderr, "gantry aws s3 rm: give a key, or a prefix "
				"with --recursive\n");
			goto done;
		}
		strv_push(&keys, prefix);
	}
	for (size_t i = 0; i < keys.n; i++)
		if (a.so.dryrun || !a.so.quiet)
			printf("%sdelete: s3://%s/%s\n", a.so.dryrun ? "(dryrun) " : "",
			       bucket, keys.v[i]);
	if (!a.so.dryrun && keys.n &&
	    aws_s3_delete(c, bucket, (const char *const *)keys.v, keys.n,
			  &deleted, &e) < 0)
		goto fail;
	ret = 0;
	goto done;
fail:
	fprintf(stderr, "gantry aws s3 rm: %s\n", e.msg);
	ret = aws_cli_exit(&e);
done:
	strv_release(&keys);
	aws_s3_list_release(&l);
	free(bucket);
	free(prefix);
	aws_client_free(c);
	aws_credp_free(cp);
	args_release(&a);
	return ret;
}
