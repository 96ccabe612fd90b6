/* Growable byte buffers with overflow-checked sizes, for anything from the network. */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

void	buf_init(struct buf *);
void	buf_free(struct buf *);
void	buf_reset(struct buf *);
int	buf_reserve(struct buf *, size_t extra);
int	buf_append(struct buf *, const void *, size_t);
int	buf_appendc(struct buf *, char);
int	buf_appends(struct buf *, const char *);
int	buf_appendf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vappendf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	buf_consume(struct buf *, size_t);
/* Appends all that fd has to give, up to max bytes in all: -1 with errno
 * (EFBIG when there was more). */
int	buf_read_fd(struct buf *, int fd, size_t max);
/* NUL-terminates without counting the NUL in len; returns p. */
char	*buf_cstr(struct buf *);

#endif
