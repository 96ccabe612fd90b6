/* Fuzz target: policy-test's reading of smtpd's replies and route's reading of its argument. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "../../ctl/policytest.h"
#include "../../ctl/route.h"

static const char conf_text[] =
    "hostname = mx.test\n"
    "local_domains = example.org\n"
    "relay_domains = example.net\n"
    "route \"*.partner.example\" {\n\tvia = lmtp:[192.0.2.5]:24\n}\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config	*c;
	struct ctl_policy_step	 st;
	struct ctl_route	*r;
	struct buf		 b, err;
	char			*s, path[600], errs[256];
	int			 code, more;

	if (c == NULL) {
		buf_init(&err);
		if ((c = config_parse_buf("fuzz.conf", conf_text,
		    sizeof(conf_text) - 1, &err)) == NULL)
			abort();
		buf_free(&err);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)ctl_policy_reply_line(s, &code, &more);
	(void)ctl_policy_path(s, path, sizeof(path));
	/* a reply as smtpd might send it, shown in the dialogue */
	memset(&st, 0, sizeof(st));
	st.cmd = "RCPT TO:<a@b.example>";
	buf_init(&st.reply);
	buf_init(&b);
	(void)buf_append(&st.reply, data, size);
	(void)ctl_policy_format(&b, &st, 1);
	buf_free(&st.reply);
	if ((r = calloc(1, sizeof(*r))) != NULL) {
		if (ctl_route_plan(c, s, r, errs, sizeof(errs)) == 0) {
			buf_reset(&b);
			(void)ctl_route_format(&b, r);
			buf_reset(&b);
			(void)ctl_route_json(&b, r);
		}
		free(r);
	}
	buf_free(&b);
	free(s);
	return 0;
}
