/*
 * Passwords for AUTH to a next hop: each route's auth_password_file (mode
 * 0600, root's) is read once at start, as root and before chroot, so the
 * main config never holds a secret and the chrooted process needs no file.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "deliver.h"
#include "log.h"

#define SECRETS_MAX		64
#define SECRET_MAX_LEN		1024

static struct {
	char	*path;
	char	*pass;
} secrets[SECRETS_MAX];
static size_t nsecrets;

static char *
read_first_line(const char *path)
{
	char		 b[SECRET_MAX_LEN + 1];
	struct stat	 st;
	ssize_t		 n;
	size_t		 len;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_errno("deliver: auth_password_file %s", path);
		return NULL;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 0077) != 0)
		log_warn("deliver: auth_password_file %s is readable by "
		    "others (mode %03o)", path, (unsigned)(st.st_mode & 0777));
	n = read(fd, b, SECRET_MAX_LEN);
	close(fd);
	if (n < 0) {
		log_errno("deliver: reading %s", path);
		return NULL;
	}
	b[n] = '\0';
	len = strcspn(b, "\r\n");
	b[len] = '\0';
	return strdup(b);
}

void
secrets_load(const struct config *c)
{
	size_t	 i;
	char	*pass;

	for (i = 0; i < c->nroutes; i++) {
		const char *path = c->routes[i].auth_password_file;

		if (path == NULL || path[0] == '\0' || secrets_get(path))
			continue;
		if (nsecrets == SECRETS_MAX) {
			log_err("deliver: too many password files");
			return;
		}
		if ((pass = read_first_line(path)) == NULL)
			continue;
		if ((secrets[nsecrets].path = strdup(path)) == NULL) {
			free(pass);
			continue;
		}
		secrets[nsecrets++].pass = pass;
	}
}

const char *
secrets_get(const char *path)
{
	size_t i;

	for (i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i].path, path) == 0)
			return secrets[i].pass;
	return NULL;
}
