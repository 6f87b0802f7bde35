/*
 * output: what gantry prints for a person while a run goes on.
 *
 * One printer shared by every job thread: each call prints whole lines
 * under a lock, each line prefixed by "[job] " or "[job/step] ", masked
 * through the run's mask before anything reaches the stream, coloured
 * when the stream is a terminal (and NO_COLOR is unset).
 */
#ifndef GANTRY_OUTPUT_H
#define GANTRY_OUTPUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "../lib/mask.h"

enum out_kind {
	OUT_PLAIN,	/* a step's own output */
	OUT_INFO,	/* gantry about the step: "Run ...", results */
	OUT_OK,
	OUT_FAIL,
	OUT_WARN,
	OUT_DIM,	/* skipped, plan details */
	OUT_GROUP,	/* a ::group:: title */
};

struct out {
	pthread_mutex_t mu;
	FILE *f;		/* borrowed */
	bool color;
	bool tty;
	bool buffered;		/* no flush per line (dry runs: flushed at the end) */
	struct mask *mask;	/* borrowed, may be NULL */
};

void out_init(struct out *o, FILE *f, struct mask *mask);
void out_release(struct out *o);

/* Print text (which may hold several lines) with prefix before each line. */
void out_line(struct out *o, enum out_kind kind, const char *prefix,
	      const char *text);
void out_printf(struct out *o, enum out_kind kind, const char *prefix,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
