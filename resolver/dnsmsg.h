/* DNS wire-format answer parsing and query name checks for the resolver. */
#ifndef POSTERN_RESOLVER_DNSMSG_H
#define POSTERN_RESOLVER_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#define DNSMSG_MAX_NAME		255	/* wire octets of a name, RFC 1035 */
#define DNSMSG_MAX_LABEL	63
#define DNSMSG_MAX_TEXT		254	/* text form without the final dot */
#define DNSMSG_MAX_ANSWERS	64	/* records passed on per answer */

#define DNSMSG_MAX_DATA		2048	/* TXT and TLSA data kept per record */

struct dnsmsg_rr {
	uint16_t	 pref;			/* MX only */
	/* MX exchange ("" = root), PTR name or address */
	char		 text[DNSMSG_MAX_TEXT + 1];
	uint8_t		 usage, selector, mtype;	/* TLSA only */
	size_t		 dlen;			/* TXT, TLSA: bytes in data */
	uint8_t		 data[DNSMSG_MAX_DATA];
};

struct dnsmsg_answers {
	size_t		 n;			/* records kept in rr */
	size_t		 nbad;			/* records of the type that did not parse */
	int		 rcode;			/* the header's RCODE */
	uint32_t	 min_ttl;		/* for the cache of issue 6 */
	struct dnsmsg_rr rr[DNSMSG_MAX_ANSWERS];
};

/*
 * Parses a whole DNS response packet and collects the class IN records of
 * qtype (1 A, 28 AAAA, 15 MX, 12 PTR, 16 TXT, 52 TLSA) from the answer
 * section; CNAMEs on the way are passed over. A record whose data does not
 * parse or is longer than DNSMSG_MAX_DATA counts in nbad. -1 when the
 * packet itself is malformed.
 */
int	dnsmsg_parse(const uint8_t *pkt, size_t len, uint16_t qtype,
	    struct dnsmsg_answers *out);

/*
 * Reads the (possibly compressed) name at *off into text form without the
 * trailing dot ("" for the root); *off moves past the name as it stands in
 * the packet. With hostname set, every label must be letters, digits, '-'
 * or '_'. -1 when malformed, too long, looping or (hostname) odd.
 */
int	dnsmsg_name_read(const uint8_t *pkt, size_t len, size_t *off,
	    char *out, size_t outsz, int hostname);

/*
 * The MX rdata at pkt[rdoff..rdoff+rdlen): preference and exchange (the
 * name may point back into the packet). The name must end exactly at the
 * end of the rdata. -1 when malformed.
 */
int	dnsmsg_mx_rdata(const uint8_t *pkt, size_t len, size_t rdoff,
	    size_t rdlen, uint16_t *pref, char *exch, size_t exchsz);

/*
 * A query name deliver may ask about: printable ASCII without spaces or
 * backslashes (libunbound would read escapes), at most 253 characters
 * (one trailing dot allowed), labels of 1 to 63 characters. 1 if valid.
 */
int	dnsmsg_qname_valid(const char *);

#endif
