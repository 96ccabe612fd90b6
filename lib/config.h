/*
 * postern.conf: global "key = value" lines, "listener NAME { ... }" and
 * "route "PATTERN" { ... }" blocks. Every key, its type and its default
 * stand in one table in config.c; unknown keys and bad values are errors
 * that name file:line.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define POSTERN_CONF_DEFAULT	"/etc/postern/postern.conf"

struct strlist {
	char	**v;
	size_t	  n;
};

/* Appends a copy of s[0..len); -1 when out of memory. */
int	strlist_add(struct strlist *, const char *s, size_t len);
/* Frees every string and the list, and leaves it empty. */
void	strlist_free(struct strlist *);

struct cidr {
	int	 family;		/* AF_INET or AF_INET6 */
	uint8_t	 addr[16];
	unsigned prefix;
};

struct cidrlist {
	struct cidr	*v;
	size_t		 n;
};

enum tls_mode { TLS_NONE, TLS_MAY, TLS_REQUIRED, TLS_IMPLICIT };
enum auth_mode { AUTH_NO, AUTH_MAY, AUTH_REQUIRED };
enum mailbox_kind { MAILBOX_MAILDIR, MAILBOX_MBOX };
enum route_tls { RTLS_NONE, RTLS_MAY, RTLS_ENCRYPT, RTLS_VERIFY, RTLS_DANE };

struct listener_conf {
	char		*name;
	int		 line;
	struct strlist	 listen;		/* "addr:port", "[v6]:port" */
	int		 tls;			/* enum tls_mode */
	char		*cert;
	char		*key;
	int		 auth;			/* enum auth_mode */
	uint64_t	 max_message_size;	/* bytes */
	uint64_t	 max_recipients;
	/* == issue 4 (policy) listener fields == */
	int		 auth_relay;		/* 1: AUTH users may relay anywhere */
	char		*tls_ciphers;		/* OpenSSL list for TLS 1.2 */
	int		 recipient_check;	/* 1: ask the master at RCPT */
	int		 sender_login_match;	/* 1: AUTH user owns the sender */
	/* == issue 4b (reverse DNS, DNSBL) listener fields == */
	int		 reverse_dns;		/* enum dnscheck_rdns: no, log, require */
	struct strlist	 dnsbl;			/* DNSBL zones; empty = off */
	int		 dnsbl_action;		/* enum dnscheck_action: reject, log */
	/* == issue 3 (smtpd) listener fields == */
	int		 auth_plaintext;	/* 1: AUTH offered without TLS */
	char		*hostname;		/* "" = the global hostname */
	uint64_t	 greeting_delay;	/* milliseconds */
	uint64_t	 command_timeout;	/* seconds */
	uint64_t	 data_timeout;		/* seconds */
	uint64_t	 max_messages_per_connection;
	uint64_t	 max_sessions;
	uint64_t	 max_sessions_per_ip;
	uint64_t	 max_connection_rate;	/* per client IP per minute, 0 = off */
	struct cidrlist	 client_allow;		/* empty = everyone */
	struct cidrlist	 client_deny;
	struct cidrlist	 etrn_clients;		/* empty = ETRN is off */
	uint64_t	 max_errors;
	uint64_t	 max_received_headers;
	struct strlist	 disable_extensions;	/* EHLO keywords not offered */
};

struct route_conf {
	char		*pattern;		/* "example.com", "*.example.com", "*" */
	int		 line;
	char		*via;			/* "mx", "host:port", "[host]:port" */
	int		 tls;			/* enum route_tls */
	/* == issue 5 (queue-mgr) route fields == */
	uint64_t	 concurrency;		/* jobs at once; 0 = destination_concurrency */
	uint64_t	 rate_limit;		/* messages/minute; 0 = destination_rate_limit */
	/* == issue 6 (deliver) route fields == */
	char		*auth_user;		/* AUTH to this hop; "" = none */
	char		*auth_password_file;	/* read by deliver before chroot */
};

struct config {
	char		*path;
	char		*hostname;
	char		*spool;
	struct strlist	 local_domains;
	struct strlist	 relay_domains;
	struct cidrlist	 trusted_networks;
	char		*relayhost;
	struct strlist	 dns_forwarders;
	uint64_t	 remote_port;
	char		*helo_name;
	char		*pam_service;
	char		*aliases;
	int		 mailbox;		/* enum mailbox_kind */
	char		*admin_group;
	char		*libexec_dir;
	uint64_t	 queue_min_backoff;	/* seconds */
	uint64_t	 queue_max_backoff;	/* seconds */
	uint64_t	 max_queue_lifetime;	/* seconds */
	uint64_t	 commit_wait;		/* milliseconds */
	uint64_t	 delivery_concurrency;
	uint64_t	 smtp_connect_timeout;	/* seconds */
	uint64_t	 smtp_timeout;		/* seconds */
	int		 log_level;		/* enum log_level */
	/* == issue 3 (smtpd) global fields == */
	/* == issue 4 (TLS, AUTH) global fields == */
	struct cidrlist	 never_connect_networks;	/* 554 5.7.1 at connect, always */
	struct cidrlist	 never_relay_networks;	/* never relay, even trusted/AUTH */
	int		 reject_own_domain_sender;	/* 1: our domains need trust or AUTH */
	struct strlist	 sender_reject;		/* 550 5.7.1 at MAIL */
	struct strlist	 sender_discard;	/* 250, then dropped */
	int		 reject_null_sender_multi_rcpt;	/* 1: "<>" gets one RCPT */
	/* == issue 8 (local delivery, submission) global fields == */
	int		 local_hostname;	/* 1: hostname, localhost are local domains */
	char		*recipient_delimiter;	/* "+"; "" = no extensions */
	char		*virtual_maps;		/* "user@dom target, ..." file; "" = none */
	char		*relay_recipients;	/* valid relay addresses file; "" = any */
	int		 allow_alias_pipes;	/* 1: "|command" targets run */
	char		*alias_pipe_user;	/* commands run as this user */
	int		 forward_files;		/* 1: ~/.forward is read */
	uint64_t	 mailbox_size_limit;	/* bytes; 0 = none */
	struct strlist	 mbox_users;		/* get mbox whatever "mailbox" says */
	struct strlist	 maildir_users;		/* get Maildir whatever "mailbox" says */
	char		*maildir_path;		/* relative to the home folder */
	char		*mail_spool_directory;	/* mbox files: DIR/USER */
	uint64_t	 local_delivery_concurrency;	/* children at once */
	uint64_t	 local_delivery_timeout;	/* seconds per child */
	uint64_t	 local_delivery_per_user;	/* children at once for one user or command */
	uint64_t	 local_fanout_limit;	/* local deliveries one message may become */
	char		*submit_trusted_group;	/* may set the sender with -f; "" = root only */
	uint64_t	 submit_max_size;	/* postern-sendmail's largest message */
	char		*pam_confdir;		/* "" = the system's /etc/pam.d */
	uint64_t	 auth_max_failures;	/* per client address and per user */
	uint64_t	 auth_failure_window;	/* seconds */
	uint64_t	 auth_max_checks;	/* PAM checks running at once */
	/* == issue 5 (queue-mgr) global fields == */
	struct strlist	 queue_retry_schedule;	/* durations; the last repeats */
	char		*queue_backoff_factor;	/* decimal, 1 .. 10 */
	uint64_t	 destination_concurrency;
	uint64_t	 destination_rate_limit;	/* messages/minute; 0 = off */
	uint64_t	 destination_failure_limit;	/* 0 = never back off a destination */
	uint64_t	 delay_warning_time;	/* seconds; 0 = off */
	char		*double_bounce_recipient;	/* "" = log and drop */
	uint64_t	 delivery_job_timeout;	/* seconds deliver may take to answer a job */
	/* == issue 4b (reverse DNS, DNSBL) global fields == */
	uint64_t	 dns_check_timeout;	/* milliseconds, connect-time DNS checks */
	/* == issue 7 (posternctl) global fields == */
	uint64_t	 trace_retention;	/* seconds a message's trace outlives it */
	char		*ctl_read_group;	/* may use the read-only verbs; "" = none */
	/* == issue 6 (deliver, resolver) global fields == */
	char		*smtp_bind_address;	/* outbound IPv4 source; "" = any */
	char		*smtp_bind_address6;	/* outbound IPv6 source; "" = any */
	char		*smtp_tls_ca_file;	/* extra CA file for tls = verify */
	uint64_t	 smtp_connection_cache_size;	/* idle sessions kept */
	uint64_t	 smtp_connection_cache_time;	/* seconds */
	char		*dns_trust_anchor_file;	/* DNSSEC trust anchor; "" = none */
	uint64_t	 dns_cache_max_ttl;	/* seconds */
	uint64_t	 dns_cache_max_negative_ttl;	/* seconds */

	struct listener_conf	*listeners;
	size_t			 nlisteners;
	struct route_conf	*routes;
	size_t			 nroutes;
};

/* NULL on error, with every problem ("file:line: what") appended to err. */
struct config	*config_load(const char *path, struct buf *err);
struct config	*config_parse_buf(const char *path, const char *text, size_t len,
		    struct buf *err);
/* The whole text of a file, for IPC_CONFIG. -1 with errno. */
int		 config_read_file(const char *path, struct buf *out);
void		 config_free(struct config *);

/* Domain list match, case-insensitive: "example.org" matches itself only,
 * ".example.org" and "*.example.org" match its subdomains. */
int	domain_list_match(const struct strlist *, const char *domain);
/* The first route whose pattern matches domain, or NULL. */
const struct route_conf *config_route_for_domain(const struct config *,
	    const char *domain);

int	cidr_parse(const char *, struct cidr *);
int	cidr_match_addr(const struct cidr *, const struct sockaddr *);
int	cidrlist_match(const struct cidrlist *, const struct sockaddr *);
/* The first bits of a and b agree. */
int	cidr_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits);

/*
 * "host", "host:port", "[host]:port", "[v6addr]:port", "v4:port".
 * bracketed is set when the host stood in brackets (no MX lookup).
 * port is defport when none is given. -1 when malformed.
 */
int	hostport_parse(const char *, char *host, size_t hostsz, uint16_t *port,
	    int *bracketed, uint16_t defport);

/* "35M" -> bytes, "5d" -> seconds; exported for tests. */
int	config_parse_size(const char *, uint64_t *);
int	config_parse_duration(const char *, uint64_t *, int millis);

#endif
