/* DNS wire-format answer parsing: every offset checked, names bounded. */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <string.h>

#include "dnsmsg.h"

#define DNS_HDR_LEN	12
#define DNS_CLASS_IN	1
/* more compression hops than a 255-octet name can need */
#define DNS_MAX_HOPS	128

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static int
hostname_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
dnsmsg_name_read(const uint8_t *pkt, size_t len, size_t *off, char *out,
    size_t outsz, int hostname)
{
	size_t	 pos = *off, end = 0, wire = 0, o = 0, target, i;
	int	 jumped = 0, hops = 0;
	uint8_t	 l;

	for (;;) {
		if (pos >= len)
			return -1;
		l = pkt[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++hops > DNS_MAX_HOPS)
				return -1;
			target = ((size_t)(l & 0x3f) << 8) | pkt[pos + 1];
			/* only backwards: a pointer can never loop on itself */
			if (target >= pos)
				return -1;
			if (!jumped) {
				end = pos + 2;
				jumped = 1;
			}
			pos = target;
			continue;
		}
		if (l & 0xc0)		/* extended label types (RFC 6891) */
			return -1;
		if (l == 0) {
			if (!jumped)
				end = pos + 1;
			break;
		}
		/* the label, its length octet and the final root octet */
		wire += (size_t)l + 1;
		if (wire + 1 > DNSMSG_MAX_NAME)
			return -1;
		if (l > len - pos - 1)
			return -1;
		if (out != NULL) {
			/* separator, label, NUL */
			if (o + (o > 0) + l + 1 > outsz)
				return -1;
			if (o > 0)
				out[o++] = '.';
		}
		for (i = 0; i < l; i++) {
			uint8_t c = pkt[pos + 1 + i];

			if (hostname && !hostname_char(c))
				return -1;
			if (out != NULL)
				out[o++] = (c > 0x20 && c < 0x7f && c != '.') ?
				    (char)c : '?';
		}
		pos += (size_t)l + 1;
	}
	if (out != NULL) {
		if (outsz == 0)
			return -1;
		out[o] = '\0';
	}
	*off = end;
	return 0;
}

int
dnsmsg_mx_rdata(const uint8_t *pkt, size_t len, size_t rdoff, size_t rdlen,
    uint16_t *pref, char *exch, size_t exchsz)
{
	size_t	 off;

	if (rdoff > len || rdlen > len - rdoff || rdlen < 3)
		return -1;
	*pref = get16(pkt + rdoff);
	off = rdoff + 2;
	/* the name may point back into the packet, but its own bytes must
	 * stay inside the rdata and fill it exactly */
	if (dnsmsg_name_read(pkt, rdoff + rdlen, &off, exch, exchsz, 1) == -1)
		return -1;
	if (off != rdoff + rdlen)
		return -1;
	return 0;
}

static int
parse_rr(const uint8_t *pkt, size_t len, size_t rdoff, size_t rdlen,
    uint16_t qtype, struct dnsmsg_rr *rr)
{
	size_t	 off, l;

	rr->dlen = 0;
	rr->text[0] = '\0';
	switch (qtype) {
	case 1:
		if (rdlen != 4)
			return -1;
		rr->pref = 0;
		if (inet_ntop(AF_INET, pkt + rdoff, rr->text,
		    sizeof(rr->text)) == NULL)
			return -1;
		return 0;
	case 28:
		if (rdlen != 16)
			return -1;
		rr->pref = 0;
		if (inet_ntop(AF_INET6, pkt + rdoff, rr->text,
		    sizeof(rr->text)) == NULL)
			return -1;
		return 0;
	case 15:
		return dnsmsg_mx_rdata(pkt, len, rdoff, rdlen, &rr->pref,
		    rr->text, sizeof(rr->text));
	case 12:
		off = rdoff;
		if (dnsmsg_name_read(pkt, rdoff + rdlen, &off, rr->text,
		    sizeof(rr->text), 1) == -1 || off != rdoff + rdlen)
			return -1;
		return 0;
	case 16:
		/* character-strings, each a length octet and its bytes */
		rr->dlen = 0;
		for (off = rdoff; off < rdoff + rdlen; off += 1 + l) {
			l = pkt[off];
			if (l > rdoff + rdlen - off - 1 ||
			    rr->dlen + l > sizeof(rr->data))
				return -1;
			memcpy(rr->data + rr->dlen, pkt + off + 1, l);
			rr->dlen += l;
		}
		return 0;
	case 52:
		if (rdlen < 3 || rdlen - 3 > sizeof(rr->data))
			return -1;
		rr->usage = pkt[rdoff];
		rr->selector = pkt[rdoff + 1];
		rr->mtype = pkt[rdoff + 2];
		rr->dlen = rdlen - 3;
		memcpy(rr->data, pkt + rdoff + 3, rr->dlen);
		return 0;
	default:
		return -1;
	}
}

int
dnsmsg_parse(const uint8_t *pkt, size_t len, uint16_t qtype,
    struct dnsmsg_answers *out)
{
	size_t		 off = DNS_HDR_LEN, rdlen;
	unsigned	 qd, an, i;
	uint16_t	 type, class;
	uint32_t	 ttl;

	out->n = 0;
	out->nbad = 0;
	out->min_ttl = UINT32_MAX;
	out->rcode = -1;
	if (pkt == NULL || len < DNS_HDR_LEN)
		return -1;
	out->rcode = pkt[3] & 0x0f;
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	for (i = 0; i < qd; i++) {
		if (dnsmsg_name_read(pkt, len, &off, NULL, 0, 0) == -1 ||
		    len - off < 4)
			return -1;
		off += 4;
	}
	for (i = 0; i < an; i++) {
		if (dnsmsg_name_read(pkt, len, &off, NULL, 0, 0) == -1 ||
		    len - off < 10)
			return -1;
		type = get16(pkt + off);
		class = get16(pkt + off + 2);
		ttl = get32(pkt + off + 4);
		rdlen = get16(pkt + off + 8);
		off += 10;
		if (rdlen > len - off)
			return -1;
		if (type == qtype && class == DNS_CLASS_IN) {
			if (out->n < DNSMSG_MAX_ANSWERS &&
			    parse_rr(pkt, len, off, rdlen, qtype,
			    &out->rr[out->n]) == 0) {
				out->n++;
				if (ttl < out->min_ttl)
					out->min_ttl = ttl;
			} else if (out->n < DNSMSG_MAX_ANSWERS)
				out->nbad++;
		}
		off += rdlen;
	}
	return 0;
}

int
dnsmsg_qname_valid(const char *name)
{
	size_t	 len, label = 0, i;

	len = strlen(name);
	if (len == 0 || len > DNSMSG_MAX_TEXT + 1)
		return 0;
	if (name[len - 1] == '.') {
		len--;
		if (len == 0)
			return 0;
	}
	if (len > DNSMSG_MAX_TEXT - 1)	/* 253 characters at most */
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return 0;
		if (++label > DNSMSG_MAX_LABEL)
			return 0;
	}
	return label > 0;
}
