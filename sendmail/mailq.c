/* postern-sendmail -bp / mailq: finding and running posternctl's listing. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "mailq.h"

#ifndef POSTERN_LIBEXECDIR
#define POSTERN_LIBEXECDIR	"/usr/local/libexec/postern"
#endif

int
sm_ctl_candidate(int n, const char *self, char *out, size_t outsz)
{
	const char	*slash;
	size_t		 dlen;

	switch (n) {
	case 0:
		/* installed side by side; a sendmail symlink resolves to us */
		if (self == NULL || (slash = strrchr(self, '/')) == NULL)
			return -1;
		dlen = (size_t)(slash - self) + 1;
		if (dlen >= outsz)
			return -1;
		memcpy(out, self, dlen);
		out[dlen] = '\0';
		if (strlcat(out, "posternctl", outsz) >= outsz)
			return -1;
		return 0;
	case 1:
		/* "make install" puts both in PREFIX/sbin, daemons in PREFIX/libexec/postern */
		if (strlcpy(out, POSTERN_LIBEXECDIR "/../../sbin/posternctl",
		    outsz) >= outsz)
			return -1;
		return 0;
	default:
		return -1;
	}
}

void
sm_exec_mailq(const char *conf)
{
	char		 self[PATH_MAX], path[PATH_MAX];
	char *const	 argv[] = { "mailq", "-C", (char *)conf, NULL };
	ssize_t		 n;
	int		 i, e = ENOENT;

	/* mailq is found where we are, not where a user's PATH points */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		self[0] = '\0';
	else
		self[n] = '\0';
	for (i = 0; i < 2; i++) {
		if (sm_ctl_candidate(i, self[0] ? self : NULL, path,
		    sizeof(path)) == -1 || access(path, X_OK) == -1)
			continue;
		execv(path, argv);
		e = errno;	/* there but would not run: say so, not ENOENT */
	}
	execvp("posternctl", argv);
	if (errno == ENOENT)
		errno = e;
}
