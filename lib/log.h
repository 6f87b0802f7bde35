/*
 * log: gantry's own diagnostics on stderr ("gantry: warning: ..."), as
 * opposed to a step's output, which agent/output.c prints. Messages never
 * carry secret values; callers name things, not contents.
 */
#ifndef GANTRY_LOG_H
#define GANTRY_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
