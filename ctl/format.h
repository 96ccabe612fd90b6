/* posternctl's output: queue entries as a terminal table or as JSON. */
#ifndef POSTERN_CTL_FORMAT_H
#define POSTERN_CTL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

/* Limits on what queue-mgr may send us, per field. */
#define CTL_MAX_ID		128
#define CTL_MAX_ADDR		1024
#define CTL_MAX_ERROR		4096

struct ctl_rcpt {
	char		*address;
	uint32_t	 state;		/* 0 pending, 1 delivered, 2 bounced */
};

/* One IPC_CTL_QUEUE_ENTRY, decoded. */
struct ctl_entry {
	char		*id;
	uint64_t	 arrival;	/* unix seconds */
	uint64_t	 size;		/* bytes */
	char		*sender;	/* "" = null sender */
	uint32_t	 state;		/* enum queue_state */
	uint64_t	 next_try;	/* unix seconds, 0 = none */
	char		*last_error;	/* "" = none */
	struct ctl_rcpt	*rcpts;
	size_t		 nrcpt;
};

/* What `posternctl queue` shows: NULL/0/-1 fields match everything. */
struct ctl_filter {
	const char	*sender;	/* substring, case-insensitive */
	const char	*rcpt;		/* substring of any recipient */
	const char	*domain;	/* any recipient in it or a subdomain */
	uint64_t	 older;		/* arrived at least this many seconds ago */
	int		 state;		/* enum queue_state, or -1 */
};

int		 ctl_entry_unpack(const void *, size_t, struct ctl_entry *);
int		 ctl_entry_matches(const struct ctl_entry *, const struct ctl_filter *,
		    time_t now);
void		 ctl_entry_free(struct ctl_entry *);
size_t		 ctl_entry_pending(const struct ctl_entry *);

const char	*ctl_state_name(uint32_t);
const char	*ctl_rcpt_state_name(uint32_t);
/* "45s", "3m12s", "2h5m", "1d3h"; negative counts as 0. */
void		 ctl_format_age(char *, size_t, int64_t secs);
/* "512", "1.2K", "35K", "4.0M": what fits a column. */
void		 ctl_format_size(char *, size_t, uint64_t bytes);
/* A string made safe for a terminal: control bytes and bad UTF-8 become '?'. */
int		 ctl_term_safe(struct buf *, const char *);
/* The same for bytes that may hold NUL; tabs are kept. */
int		 ctl_term_safe_bytes(struct buf *, const void *, size_t);
/* A JSON string literal, quotes included; bad UTF-8 becomes U+FFFD. */
int		 ctl_json_string(struct buf *, const char *);
/* One entry as a JSON object (no trailing separator). */
int		 ctl_json_entry(struct buf *, const struct ctl_entry *);
/* The whole table, total line included. */
int		 ctl_format_table(struct buf *, const struct ctl_entry *, size_t,
		    time_t now);

/* sendmail/Postfix mailq format: id (* active, ! held), size, arrival,
 * sender; the last error and pending recipients indented below. */
int		 ctl_format_mailq(struct buf *, const struct ctl_entry *, size_t);

#endif
