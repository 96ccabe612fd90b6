/* Logging to syslog (mail facility) or, in the foreground, to stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"

static int		 log_fg = 1;
static enum log_level	 log_lvl = LOG_LVL_INFO;
static char		 log_ident[64] = "postern";

void
log_init(const char *ident, int foreground)
{
	const char *env;

	strlcpy(log_ident, ident, sizeof(log_ident));
	log_fg = foreground;
	if ((env = getenv("POSTERN_DEBUG")) != NULL && *env == '1')
		log_lvl = LOG_LVL_DEBUG;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_level(enum log_level l)
{
	log_lvl = l;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void log_emit(enum log_level, const char *, va_list, const char *)
    __attribute__((format(printf, 2, 0)));

static void
log_emit(enum log_level l, const char *fmt, va_list ap, const char *suffix)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *tag[] = { "error: ", "warning: ", "", "debug: " };
	char	 msg[2048];
	int	 saved = errno;

	if (l > log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_fg) {
		fprintf(stderr, "%s[%ld]: %s%s%s%s\n", log_ident, (long)getpid(),
		    tag[l], msg, suffix ? ": " : "", suffix ? suffix : "");
		fflush(stderr);
	} else {
		syslog(LOG_MAIL | prio[l], "%s%s%s%s", tag[l], msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	}
	errno = saved;
}

#define LOG_FN(name, level)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_emit(level, fmt, ap, NULL);			\
	va_end(ap);					\
}

LOG_FN(log_err, LOG_LVL_ERR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void
log_errno(const char *fmt, ...)
{
	va_list	 ap;
	char	 e[128];

	strlcpy(e, strerror(errno), sizeof(e));
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, fmt, ap, e);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
