/*
 * profile: AWS's shared config and credentials files.
 *
 * The config file (AWS_CONFIG_FILE, else ~/.aws/config) names profiles
 * "[profile NAME]" (and "[default]"); the credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) names them
 * "[NAME]". A profile's settings are the union of both, the credentials
 * file winning for a key set in both, as AWS's SDKs read them. Lines:
 * "key = value", comments from '#' or ';' at the start of a line or after
 * whitespace; an indented line after "key =" is a sub-setting, kept as
 * "key.sub". Missing files are empty; a line that is none of these is an
 * error naming the file and line. Files are bounded (1 MB).
 */
#ifndef GANTRY_AWS_PROFILE_H
#define GANTRY_AWS_PROFILE_H

#include <stdbool.h>

#include "../err.h"
#include "../strv.h"

struct aws_profile {
	char *name;		/* owned */
	struct strv kv;		/* owned: "key=value", keys lower-case */
	bool found;		/* a section of that name exists */
};

/* The profile name to use: name, else AWS_PROFILE, else "default". */
const char *aws_profile_name(const struct strv *env, const char *name);

/* Load profile name from both files of env's configuration. */
int aws_profile_load(struct aws_profile *out, const struct strv *env,
		     const char *name, struct err *e);
void aws_profile_release(struct aws_profile *p);
/* A setting's value, or NULL. Borrowed. */
const char *aws_profile_get(const struct aws_profile *p, const char *key);

/* Parse one file's text (for the tests and the fuzzer): the settings of
 * section (exactly as written between the brackets) into kv. */
int aws_ini_section(struct strv *kv, const char *text, const char *section,
		    bool *found, const char *file, struct err *e);

#endif
