/* Queue ids: unique, unguessable, and sorting by arrival time. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>

#include "qmgr.h"

/* Crockford's base32 alphabet is in ASCII order, so ids sort as their clocks do. */
static const char qid_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
qid_format(char out[QID_SIZE], uint64_t usec, uint64_t rnd)
{
	int	 i;

	/* 11 digits = 55 bits of microseconds: good until the year 3111 */
	for (i = QID_TIME_LEN - 1; i >= 0; i--) {
		out[i] = qid_alphabet[usec & 31];
		usec >>= 5;
	}
	for (i = QID_LEN - 1; i >= QID_TIME_LEN; i--) {
		out[i] = qid_alphabet[rnd & 31];
		rnd >>= 5;
	}
	out[QID_LEN] = '\0';
}

void
qid_new(char out[QID_SIZE])
{
	struct timespec	 ts;
	uint64_t	 usec, rnd;

	clock_gettime(CLOCK_REALTIME, &ts);
	usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	/* 40 random bits: an id cannot be guessed from the clock */
	rnd = ((uint64_t)arc4random() << 8) ^ arc4random_uniform(256);
	qid_format(out, usec, rnd);
}

int
qid_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len != QID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || memchr(qid_alphabet, s[i],
		    sizeof(qid_alphabet) - 1) == NULL)
			return 0;
	return 1;
}
