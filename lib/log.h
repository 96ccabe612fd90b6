/* Logging: syslog facility mail, or stderr when running in the foreground. */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Call before chroot: the syslog socket is opened here (LOG_NDELAY). */
void	log_init(const char *ident, int foreground);
void	log_set_level(enum log_level);
int	log_level_parse(const char *, enum log_level *);
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* log_err plus strerror(errno) */
void	log_errno(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Fatal start-up error: logs and exits 1. Never used once serving. */
void	log_fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
